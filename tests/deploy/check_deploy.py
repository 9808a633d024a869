#!/usr/bin/env python3
"""Checks the deployment files that no Docker engine here can run: the Dockerfile and docker-compose.yml.

    check_deploy.py REPO COHORT_BINARY

- every COPY source of the Dockerfile exists and is not excluded by .dockerignore;
- the build stage installs every library package of scripts/install-deps.sh;
- the runtime stage installs the Debian package of every library the binary links (readelf -d, dpkg -S);
- every COHORT_* variable that the Dockerfile or a cohort service of docker-compose.yml sets is a known setting,
  each cohort service's settings load (the binary is run with them, stores pointed at a closed local port, and
  must fail on the connection, not on the configuration), and every `serve` replica has API keys and listens on
  0.0.0.0 (without keys it binds loopback only, out of the balancer's reach).
Prints one line per problem and exits 1 if there is any.
"""

import fnmatch
import os
import re
import subprocess
import sys

import yaml

# Sanitizer runtimes come from the test build's flags, never from the release build the image makes.
SANITIZER_LIBRARIES = ("libasan.so", "libubsan.so", "libtsan.so")
# Where the stores are pointed for the configuration check: port 1 on loopback refuses at once.
UNREACHABLE = {
    "COHORT_POSTGRES_URL": "postgresql://cohort@127.0.0.1:1/cohort",
    "COHORT_MONGO_URL": "mongodb://127.0.0.1:1/cohort",
    "COHORT_REDIS_URL": "redis://127.0.0.1:1/0",
    "COHORT_AMQP_URL": "amqp://cohort:cohort@127.0.0.1:1/",
}
CONFIG_ERROR_EXIT = 2  # main.cpp: a configuration that does not load


def dockerfile_instructions(path):
    """(stage index, INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    out, stage, pending = [], -1, ""
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.rstrip("\n")
            if not pending and (not line.strip() or line.lstrip().startswith("#")):
                continue
            if line.endswith("\\"):
                pending += line[:-1] + " "
                continue
            text = (pending + line).strip()
            pending = ""
            instruction, _, args = text.partition(" ")
            instruction = instruction.upper()
            if instruction == "FROM":
                stage += 1
            out.append((stage, instruction, args.strip()))
    return out


def apt_packages(instructions, stage):
    packages = set()
    for s, instruction, args in instructions:
        if s == stage and instruction == "RUN" and "apt-get install" in args:
            install = args.split("apt-get install", 1)[1].split("&&", 1)[0]
            packages.update(w for w in install.split() if not w.startswith("-"))
    return packages


def dockerignore_patterns(repo):
    path = os.path.join(repo, ".dockerignore")
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return [l.strip().rstrip("/") for l in f if l.strip() and not l.lstrip().startswith("#")]


def ignored(source, patterns):
    parts = os.path.normpath(source).split(os.sep)
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    return any(fnmatch.fnmatch(p, pattern) for p in prefixes for pattern in patterns)


def check_copy_sources(repo, instructions, problems):
    patterns = dockerignore_patterns(repo)
    for _, instruction, args in instructions:
        if instruction not in ("COPY", "ADD") or args.startswith("--from"):
            continue
        words = [w for w in args.split() if not w.startswith("--")]
        for source in words[:-1]:
            if not os.path.exists(os.path.join(repo, source)):
                problems.append(f"Dockerfile: {instruction} source '{source}' does not exist")
            elif ignored(source, patterns):
                problems.append(f"Dockerfile: {instruction} source '{source}' is excluded by .dockerignore")


def install_deps_libraries(repo):
    """The `# libraries` group of scripts/install-deps.sh."""
    packages, inside = [], False
    with open(os.path.join(repo, "scripts", "install-deps.sh"), encoding="utf-8") as f:
        for line in f:
            stripped = line.strip()
            if stripped.startswith("#"):
                inside = stripped == "# libraries"
                continue
            if inside:
                if stripped.startswith(")"):
                    break
                packages.extend(stripped.split())
    return packages


def linked_library_packages(binary, problems):
    dynamic = subprocess.run(["readelf", "-d", binary], capture_output=True, text=True, check=True).stdout
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]", dynamic)
    resolved = {}
    for line in subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout.splitlines():
        match = re.match(r"\s*(\S+) => (\S+)", line)
        if match:
            resolved[match.group(1)] = match.group(2)
    packages = {}
    for library in needed:
        if library.startswith(SANITIZER_LIBRARIES):
            continue
        if library not in resolved:
            problems.append(f"{binary}: linked library {library} is not found by ldd")
            continue
        owner = subprocess.run(["dpkg", "-S", os.path.realpath(resolved[library])], capture_output=True, text=True)
        if owner.returncode != 0:
            owner = subprocess.run(["dpkg", "-S", resolved[library]], capture_output=True, text=True)
        if owner.returncode != 0:
            problems.append(f"{binary}: no Debian package holds {library}")
            continue
        packages[library] = owner.stdout.split(":", 1)[0].strip()
    return packages


def known_settings(binary):
    help_text = subprocess.run([binary, "--help"], capture_output=True, text=True).stdout
    return set(re.findall(r"\bCOHORT_[A-Z0-9_]+\b", help_text))


def cohort_services(repo):
    config = subprocess.run(["docker-compose", "-f", os.path.join(repo, "docker-compose.yml"), "config"],
                            capture_output=True, text=True, check=True).stdout
    services = yaml.safe_load(config)["services"]
    return {name: s for name, s in services.items() if "build" in s}


def check_compose(repo, binary, image_env, problems):
    settings = known_settings(binary)
    for name in sorted(set(image_env) - settings):
        problems.append(f"Dockerfile: ENV {name} is not a cohort setting")
    services = cohort_services(repo)
    if not services:
        problems.append("docker-compose.yml: no service builds the cohort image")
    serve_count = 0
    for name, service in sorted(services.items()):
        env = {k: str(v) for k, v in (service.get("environment") or {}).items()}
        for variable in sorted(v for v in env if v.startswith("COHORT_") and v not in settings):
            problems.append(f"docker-compose.yml: {name}: {variable} is not a cohort setting")
        command = service.get("command") or []
        if (command.split() if isinstance(command, str) else command)[:1] == ["serve"]:
            serve_count += 1
            if not env.get("COHORT_API_KEYS"):
                problems.append(f"docker-compose.yml: {name}: a serve replica without COHORT_API_KEYS binds loopback")
            if env.get("COHORT_HOST") != "0.0.0.0":
                problems.append(f"docker-compose.yml: {name}: a serve replica needs COHORT_HOST=0.0.0.0")
        # As in the container: the image's ENV, then the service's environment.
        run_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **image_env}
        run_env.update({k: v for k, v in env.items() if k.startswith("COHORT_")})
        run_env.update({k: v for k, v in UNREACHABLE.items() if k in env})
        if "COHORT_POSTGRES_URL" not in run_env:
            problems.append(f"docker-compose.yml: {name}: no COHORT_POSTGRES_URL (it would use a private SQLite file)")
            continue
        run = subprocess.run([binary, "migrate"], env=run_env, capture_output=True, text=True, timeout=60,
                             cwd=os.environ.get("TMPDIR", "/tmp"))
        if run.returncode == 0:
            problems.append(f"docker-compose.yml: {name}: migrate succeeded against a closed port (proves nothing)")
        elif run.returncode == CONFIG_ERROR_EXIT or "configuration error" in run.stderr:
            problems.append(f"docker-compose.yml: {name}: settings do not load: {run.stderr.strip()}")
    if serve_count < 2:
        problems.append(f"docker-compose.yml: {serve_count} serve replica(s), the layout has two")


def main():
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    repo, binary = sys.argv[1], os.path.abspath(sys.argv[2])
    problems = []
    instructions = dockerfile_instructions(os.path.join(repo, "Dockerfile"))
    stages = max(s for s, _, _ in instructions) + 1
    if stages < 2:
        problems.append("Dockerfile: expected a build stage and a runtime stage")
    check_copy_sources(repo, instructions, problems)

    build_packages, runtime_packages = apt_packages(instructions, 0), apt_packages(instructions, stages - 1)
    for package in install_deps_libraries(repo):
        if package not in build_packages:
            problems.append(f"Dockerfile: the build stage lacks {package} (scripts/install-deps.sh has it)")
    for library, package in sorted(linked_library_packages(binary, problems).items()):
        if package not in runtime_packages:
            problems.append(f"Dockerfile: the runtime stage lacks {package}, which holds {library}")
    if not any(i == "USER" and not args.startswith(("root", "0")) for s, i, args in instructions if s == stages - 1):
        problems.append("Dockerfile: the runtime stage does not switch to a non-root USER")

    image_env = {}
    for s, instruction, args in instructions:
        if s == stages - 1 and instruction == "ENV":
            image_env.update(re.findall(r"\b(COHORT_[A-Z0-9_]+)=(\S*)", args))
    check_compose(repo, binary, image_env, problems)

    for problem in problems:
        print(problem)
    print(f"check_deploy: {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
