# shellcheck shell=bash
# Shell helpers shared by the benchmark scripts (sourced; they define `log` and `die`).

# wait_for_port_file PID PORT_FILE LOG_FILE NAME: waits up to 60 s until `cohort serve` (process PID, logging to
# LOG_FILE) has written its port to PORT_FILE, and prints the port; dies with the log's tail if it exits first.
wait_for_port_file() {
  local pid=$1 port_file=$2 log_file=$3 name=$4 i
  for ((i = 0; i < 600; i++)); do
    if [[ -s "$port_file" ]]; then break; fi
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 30 "$log_file" >&2 || true
      die "$name exited (log above)"
    fi
    sleep 0.1
  done
  [[ -s "$port_file" ]] || die "$name wrote no port file within 60 s"
  cat "$port_file"
}
