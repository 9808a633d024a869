#pragma once
// The HTTP/1.1 server: keep-alive connections, timeouts, limits and graceful stop, around one synchronous
// Handler. Boost.Beast stays inside http_server.cpp so that nothing else pays for compiling it.
//
// Threading: `threads` threads, each running an io_context of its own; accepted connections are dealt to them in
// turn, and a connection is served on its thread, one request at a time. The handler runs synchronously on the
// I/O thread (it may block, e.g. on a database; a blocked handler holds up the connections of its thread) and
// must be safe to call from several threads at once.
//
// Every response carries X-Request-Id (the client's when it is 1-64 characters of [A-Za-z0-9._-], otherwise a
// fresh 16-hex-digit id), Content-Type, Content-Length (except for 204 and 304) and HttpResponse::headers;
// headers the server owns (Content-Length, Content-Type, Connection, Transfer-Encoding, X-Request-Id) and
// values containing CR, LF or NUL are dropped from HttpResponse::headers with a warning.
// Malformed requests (400 "bad_request"), a header section over 8 KiB (431), a body over body_limit (413
// "payload_too_large") are answered with ErrorResponse and the connection is closed. A handler exception is
// answered with 500 and logged. Each request makes an access-log line, "<UTC time> level=info request_id method
// path status micros\n", where path is the raw path without the query and micros runs from the complete request
// to the written response; the lines go to HttpServerOptions::access_log in blocks (see there).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "api/http_types.hpp"
#include "common/result.hpp"

namespace cohort::api {

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;  // 0 = any free port
  int threads = 0;            // 0 = std::thread::hardware_concurrency()
  std::size_t body_limit = 4 * 1024 * 1024;
  std::chrono::milliseconds read_timeout{10'000};    // to receive a whole request once it started; also the
                                                     // limit for writing a response
  std::chrono::milliseconds idle_timeout{60'000};    // keep-alive connection with no request
  std::chrono::milliseconds shutdown_grace{10'000};  // max wait for in-flight requests on stop
  // Receives the access-log lines, whole lines in blocks of up to 64, each block within 200 ms of its first
  // line; called on the I/O threads (and by Stop), so it must be thread-safe and should not block. Unset: no
  // access log.
  std::function<void(std::string_view lines)> access_log;
};

using Handler = std::function<HttpResponse(HttpRequest&)>;

class HttpServer {
 public:
  HttpServer(HttpServerOptions options, Handler handler);
  ~HttpServer();  // stops if running
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds, listens and starts the worker threads; returns the bound port. Fails with kUnavailable
  // ("cannot listen on 127.0.0.1:8080: Address already in use") or kFailedPrecondition when already running.
  Result<std::uint16_t> Start();

  // Graceful stop: stops accepting, closes idle keep-alive connections, lets in-flight requests finish (their
  // responses say "Connection: close") for up to shutdown_grace, then abandons what is left and joins the
  // threads. A handler that is still blocked after the grace delays the return until it returns.
  // Idempotent and callable from any thread; called from a handler (an I/O thread) it only begins the stop
  // and returns at once, and the destructor or a later Stop() finishes it.
  void Stop();

  // Blocks until SIGINT or SIGTERM (or until Stop() is called elsewhere), then stops; returns once the stop
  // has completed. Returns at once when the server is not running.
  void RunUntilSignal();

  // The bound port while the server runs, else 0.
  std::uint16_t port() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cohort::api
