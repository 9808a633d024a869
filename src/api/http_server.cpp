#include "api/http_server.hpp"

// <utility> must come before Boost.Asio: with g++ 12 in C++20, Boost 1.74 uses std::exchange without it.
#include <utility>

// ThreadSanitizer does not model std::atomic_thread_fence (g++ -Wtsan says so). Asio's per-handler fences
// duplicate the ordering its scheduler mutex already gives, so a TSan build leaves them out
// rather than risk false reports. This file is the only one that includes Asio, so both builds stay
// ODR-clean.
#if defined(__SANITIZE_THREAD__) && !defined(BOOST_ASIO_DISABLE_FENCED_BLOCK)
#define BOOST_ASIO_DISABLE_FENCED_BLOCK
#endif

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <csignal>
#include <exception>
#include <mutex>
#include <optional>
#include <random>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

// False positives from Boost once inlined at -O2: Asio's scheduler trips -Wnull-dereference (a thread_info
// pointer it knows is set), and Beast's boost::optional<content length> trips -Wmaybe-uninitialized under
// ASan.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#pragma GCC diagnostic pop
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "api/error_response.hpp"
#include "api/url.hpp"

namespace cohort::api {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
// Sockets and streams bound to their io_context's own executor: no type-erased executor on every operation.
using Executor = asio::io_context::executor_type;
using Socket = tcp::socket::rebind_executor<Executor>::other;
using Stream = beast::basic_stream<tcp, Executor, beast::unlimited_rate_policy>;
using Clock = std::chrono::steady_clock;

constexpr std::uint32_t kHeaderLimit = 8 * 1024;
constexpr std::size_t kReadChunk = 4096;
// After the last response on a connection the server half-closes and reads (discarding) for at most this
// long, so that a client still sending (e.g. an oversized body) reads our answer instead of a reset.
constexpr std::chrono::milliseconds kLingerTime{1000};
constexpr std::chrono::milliseconds kAcceptRetryDelay{100};
constexpr std::size_t kMaxRequestIdLength = 64;
constexpr std::string_view kRequestIdHeader = "X-Request-Id";

bool IsValidRequestId(std::string_view id) {
  if (id.empty() || id.size() > kMaxRequestIdLength) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

std::string GenerateRequestId() {
  thread_local std::mt19937_64 rng = [] {
    std::random_device device;
    std::seed_seq seed{device(), device(), device(), device()};
    return std::mt19937_64(seed);
  }();
  static constexpr char kHex[] = "0123456789abcdef";
  std::uint64_t bits = rng();
  std::string id(16, '0');
  for (auto it = id.rbegin(); it != id.rend(); ++it, bits >>= 4) *it = kHex[bits & 0xF];
  return id;
}

std::string RequestIdFrom(std::string_view sent) {
  return IsValidRequestId(sent) ? std::string(sent) : GenerateRequestId();
}

// Headers whose value the server decides; a handler's copy would contradict the framing or the log.
bool IsServerOwnedHeader(std::string_view name) {
  return beast::iequals(name, "Content-Length") || beast::iequals(name, "Content-Type") ||
         beast::iequals(name, "Connection") || beast::iequals(name, "Transfer-Encoding") ||
         beast::iequals(name, kRequestIdHeader);
}

bool IsSafeHeader(std::string_view name, std::string_view value) {
  constexpr std::string_view kForbidden("\r\n\0", 3);
  return !name.empty() && name.find_first_of(kForbidden) == std::string_view::npos &&
         name.find_first_of(" :") == std::string_view::npos &&
         value.find_first_of(kForbidden) == std::string_view::npos;
}

std::string HostPort(std::string_view host, std::uint16_t port) {
  const bool ipv6 = host.find(':') != std::string_view::npos;
  return (ipv6 ? "[" + std::string(host) + "]" : std::string(host)) + ":" + std::to_string(port);
}

const boost::system::error_category& HttpErrorCategory() {
  return http::make_error_code(http::error::bad_target).category();
}

// The access-log lines of one worker thread, handed to HttpServerOptions::access_log a block at a time: at
// kAccessBlockLines lines, at kAccessFlushInterval, and at stop. One hand-over per line cost a busy server more
// than the rest of its logging (a queue lock and a wake-up of the log thread each).
constexpr std::size_t kAccessBlockLines = 64;
constexpr std::chrono::milliseconds kAccessFlushInterval{200};

class AccessLogBlock {
 public:
  void Add(std::string_view request_id, std::string_view method, std::string_view path, int status,
           std::int64_t micros) {
    const auto now = std::chrono::system_clock::now();
    const auto second = std::chrono::floor<std::chrono::seconds>(now);
    if (second != second_) {
      second_ = second;
      second_text_ = fmt::format("{:%Y-%m-%dT%H:%M:%S}", fmt::gmtime(std::chrono::system_clock::to_time_t(now)));
    }
    const auto fraction = std::chrono::duration_cast<std::chrono::microseconds>(now - second).count();
    fmt::format_to(std::back_inserter(lines_), "{}.{:06}Z level=info {} {} {} {} {}\n", second_text_, fraction,
                   request_id, method, path, status, micros);
    ++count_;
  }
  bool full() const { return count_ >= kAccessBlockLines; }
  void Flush(const std::function<void(std::string_view)>& sink) {
    if (count_ == 0) return;
    sink(lines_);
    lines_.clear();
    count_ = 0;
  }

 private:
  std::string lines_;
  std::size_t count_ = 0;
  std::chrono::system_clock::time_point second_;
  std::string second_text_;
};

// Set on the worker threads of a running server, so that Stop() can tell it is called from a handler.
thread_local const void* tl_worker_of = nullptr;

}  // namespace

class HttpServer::Impl {
 public:
  Impl(HttpServerOptions options, Handler handler)
      : options_(std::move(options)), handler_(std::move(handler)) {
    if (options_.threads <= 0)
      options_.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  }
  ~Impl() { Stop(); }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  Result<std::uint16_t> Start();
  void Stop();
  void RunUntilSignal();
  std::uint16_t port() const { return port_.load(std::memory_order_acquire); }

 private:
  class Session;

  bool stopping() const { return stopping_.load(std::memory_order_acquire); }
  const HttpServerOptions& options() const { return options_; }
  HttpResponse CallHandler(HttpRequest& request) const;
  void Register(Session* session, std::weak_ptr<Session> handle);
  void Unregister(Session* session);

  void DoAccept();
  void OnAccept(std::size_t context, beast::error_code ec, Socket socket);
  void LogAccess(std::size_t context, std::string_view request_id, std::string_view method, std::string_view path,
                 int status, std::int64_t micros);
  void ScheduleAccessFlush(std::size_t context);
  void BeginShutdown();
  void RunWorker(asio::io_context& context);

  HttpServerOptions options_;
  const Handler handler_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint16_t> port_{0};

  std::mutex sessions_mutex_;
  std::condition_variable sessions_cv_;
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions_;  // guarded by sessions_mutex_

  std::mutex signal_mutex_;
  asio::io_context* signal_context_ = nullptr;  // guarded by signal_mutex_; set while RunUntilSignal waits

  // Start and the completion of Stop are serialized by lifecycle_mutex_; the members below change only under
  // it and while no worker thread runs.
  std::mutex lifecycle_mutex_;
  bool running_ = false;
  // One io_context per worker thread, each run by that thread alone: a connection lives on one context, so its
  // handlers never run concurrently without a strand, and no scheduler lock is shared between the threads.
  std::vector<std::unique_ptr<asio::io_context>> contexts_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> keep_running_;
  std::size_t next_context_ = 0;                      // the context of the next accepted connection
  std::vector<AccessLogBlock> access_blocks_;         // [i] used on the thread of contexts_[i] only
  std::vector<std::unique_ptr<asio::steady_timer>> access_timers_;  // [i] on contexts_[i]
  std::unique_ptr<tcp::acceptor> acceptor_;           // on contexts_[0], used on its thread only
  std::unique_ptr<asio::steady_timer> accept_retry_;  // same context as acceptor_
  std::vector<std::thread> workers_;
};

// One connection: reads a request, calls the handler, writes the response, and again while keep-alive lasts.
// Every member is used on the thread of the connection's io_context only.
class HttpServer::Impl::Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Impl& server, std::size_t context, Socket&& socket)
      : server_(server), context_(context), stream_(std::move(socket)) {}
  ~Session() { server_.Unregister(this); }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void Start() {
    server_.Register(this, weak_from_this());
    asio::dispatch(stream_.get_executor(),
                   beast::bind_front_handler(&Session::WaitForRequest, shared_from_this()));
  }

  // From any thread: an idle connection is closed now, a busy one after its current response.
  void RequestShutdown() {
    asio::post(stream_.get_executor(),
               beast::bind_front_handler(&Session::OnShutdownRequested, shared_from_this()));
  }

 private:
  enum class State { kIdle, kReading, kBusy, kClosing };

  void WaitForRequest() {
    state_ = State::kIdle;
    if (server_.stopping()) return Close();
    if (buffer_.size() > 0) return ReadRequest();  // pipelined bytes already buffered
    stream_.expires_after(server_.options().idle_timeout);
    stream_.async_read_some(buffer_.prepare(kReadChunk),
                            beast::bind_front_handler(&Session::OnFirstBytes, shared_from_this()));
  }

  void OnFirstBytes(beast::error_code ec, std::size_t bytes) {
    // Errors: the peer closed, the idle timeout expired, or the server is stopping. The session ends.
    if (ec || closed_) return;
    buffer_.commit(bytes);
    ReadRequest();
  }

  void ReadRequest() {
    state_ = State::kReading;
    parser_.emplace();
    parser_->body_limit(static_cast<std::uint64_t>(server_.options().body_limit));
    parser_->header_limit(kHeaderLimit);
    stream_.expires_after(server_.options().read_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&Session::OnHeader, shared_from_this()));
  }

  void OnHeader(beast::error_code ec, std::size_t /*bytes*/) {
    if (ec) return OnReadError(ec);
    if (parser_->is_done()) return Handle();
    const auto& request = parser_->get();
    if (request.version() >= 11 && beast::iequals(request[http::field::expect], "100-continue")) {
      continue_.emplace(http::status::continue_, request.version());
      return http::async_write(stream_, *continue_,
                               beast::bind_front_handler(&Session::OnContinueSent, shared_from_this()));
    }
    ReadBody();
  }

  void OnContinueSent(beast::error_code ec, std::size_t /*bytes*/) {
    continue_.reset();
    if (ec) return;
    ReadBody();
  }

  void ReadBody() {
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::OnBody, shared_from_this()));
  }

  void OnBody(beast::error_code ec, std::size_t /*bytes*/) {
    if (ec) return OnReadError(ec);
    Handle();
  }

  void OnReadError(beast::error_code ec) {
    if (ec == http::error::body_limit) {
      return SendProtocolError(
          413, "payload_too_large",
          "the request body exceeds " + std::to_string(server_.options().body_limit) + " bytes");
    }
    if (ec == http::error::header_limit) {
      return SendProtocolError(
          431, "request_header_fields_too_large",
          "the request header section exceeds " + std::to_string(kHeaderLimit) + " bytes");
    }
    // The client closed the connection (possibly mid-request): nobody to answer.
    if (ec == http::error::end_of_stream || ec == http::error::partial_message) return;
    if (ec.category() == HttpErrorCategory())
      return SendProtocolError(400, "bad_request", "malformed HTTP request");
    // Timeout, reset, or the server is stopping: close without an answer.
  }

  void Handle() {
    state_ = State::kBusy;
    started_ = Clock::now();
    auto& message = parser_->get();
    const RequestTarget target = SplitTarget(message.target());
    log_method_.assign(message.method_string());
    log_path_.assign(target.path);

    HttpRequest request;
    request.request_id = RequestIdFrom(message[kRequestIdHeader]);
    log_request_id_ = request.request_id;
    const unsigned version = message.version();
    const bool keep_alive = message.keep_alive();
    const bool head = message.method() == http::verb::head;

    HttpResponse response;
    if (auto path = PercentDecode(target.path, /*plus_is_space=*/false); !path) {
      response = ErrorResponse(400, "invalid_argument", "invalid percent-encoding in the request path");
    } else {
      request.method.assign(message.method_string());
      request.path = std::move(path).value();
      request.query = ParseQuery(target.query);
      request.content_type.assign(message[http::field::content_type]);
      request.authorization.assign(message[http::field::authorization]);
      request.body = std::move(message.body());
      parser_.reset();  // `message` and `target` dangle from here on
      response = server_.CallHandler(request);
    }
    parser_.reset();
    SendResponse(std::move(response), request.request_id, version, keep_alive && !server_.stopping(), head);
  }

  void SendProtocolError(int status, std::string_view code, std::string message) {
    state_ = State::kBusy;
    started_ = Clock::now();
    unsigned version = 11;
    std::string request_id;
    log_method_ = "-";
    log_path_ = "-";
    if (parser_ && parser_->is_header_done()) {
      const auto& request = parser_->get();
      version = request.version();
      request_id = RequestIdFrom(request[kRequestIdHeader]);
      log_method_.assign(request.method_string());
      log_path_.assign(SplitTarget(request.target()).path);
    } else {
      request_id = GenerateRequestId();
    }
    parser_.reset();
    log_request_id_ = request_id;
    SendResponse(ErrorResponse(status, code, message), request_id, version, /*keep_alive=*/false,
                 /*head=*/false);
  }

  void SendResponse(HttpResponse&& response, const std::string& request_id, unsigned version, bool keep_alive,
                    bool head) {
    if (response.status < 200 || response.status > 599) {
      spdlog::error("request {}: the handler returned the invalid status {}", request_id, response.status);
      response = ErrorResponse(Error::Internal("invalid status " + std::to_string(response.status)));
    }
    head_.clear();
    // The status line and header section are written here rather than by Beast's serializer, which cost a
    // cached answer more than its cache lookup; the reason phrase is the one Beast would write.
    fmt::format_to(std::back_inserter(head_), "HTTP/{}.{} {} {}\r\n", version / 10, version % 10, response.status,
                   http::obsolete_reason(http::int_to_status(static_cast<unsigned>(response.status))));
    const auto add = [this](std::string_view name, std::string_view value) {
      ((head_ += name) += ": ") += value;
      head_ += "\r\n";
    };
    if (!response.content_type.empty()) add("Content-Type", response.content_type);
    add(kRequestIdHeader, request_id);
    for (const auto& [name, value] : response.headers) {
      if (IsServerOwnedHeader(name) || !IsSafeHeader(name, value)) {
        spdlog::warn("request {}: dropped the response header '{}'", request_id, name);
        continue;
      }
      add(name, value);
    }
    // RFC 9110 §8.6: no Content-Length (and no content) in a 204 or 304.
    const bool bodiless_status = response.status == 204 || response.status == 304;
    if (!bodiless_status) {
      add("Content-Length", fmt::format_int(response.body.size()).str());
      // A HEAD answer announces the length of the GET body but carries none.
      if (!head) body_ = std::move(response.body);
    }
    // HTTP/1.1 keeps the connection unless told otherwise, HTTP/1.0 closes it unless told otherwise.
    if (version >= 11 && !keep_alive) add("Connection", "close");
    if (version < 11 && keep_alive) add("Connection", "keep-alive");
    head_ += "\r\n";
    close_after_write_ = !keep_alive;
    log_status_ = response.status;
    stream_.expires_after(server_.options().read_timeout);
    asio::async_write(stream_, std::array{asio::const_buffer(head_.data(), head_.size()),
                                          asio::const_buffer(body_.data(), body_.size())},
                      beast::bind_front_handler(&Session::OnWritten, shared_from_this()));
  }

  void OnWritten(beast::error_code ec, std::size_t /*bytes*/) {
    const auto micros =
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started_).count();
    server_.LogAccess(context_, log_request_id_, log_method_, log_path_, log_status_, micros);
    body_ = std::string();  // the handler's string, moved in: an idle connection holds no answer
    if (ec) return;
    if (close_after_write_) return LingerClose();
    WaitForRequest();
  }

  void LingerClose() {
    state_ = State::kClosing;
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return;
    buffer_.clear();
    stream_.expires_after(std::min<std::chrono::milliseconds>(kLingerTime, server_.options().read_timeout));
    Drain();
  }

  void Drain() {
    stream_.async_read_some(buffer_.prepare(kReadChunk),
                            beast::bind_front_handler(&Session::OnDrained, shared_from_this()));
  }

  void OnDrained(beast::error_code ec, std::size_t /*bytes*/) {
    if (ec) return;  // EOF from the peer, or the linger time is over: the session ends
    Drain();
  }

  void OnShutdownRequested() {
    if (state_ == State::kIdle) Close();
  }

  void Close() {
    if (closed_) return;
    closed_ = true;
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }

  Impl& server_;
  const std::size_t context_;  // index of the io_context (and worker thread) the connection lives on
  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::response<http::empty_body>> continue_;
  std::string head_;  // the response being written: status line and headers, then the body
  std::string body_;
  State state_ = State::kIdle;
  bool close_after_write_ = false;
  bool closed_ = false;
  // For the access log line, written once the response is sent.
  Clock::time_point started_;
  std::string log_request_id_;
  std::string log_method_;
  std::string log_path_;
  int log_status_ = 0;
};

HttpResponse HttpServer::Impl::CallHandler(HttpRequest& request) const {
  try {
    return handler_(request);
  } catch (const std::exception& e) {
    spdlog::error("request {}: the handler threw: {}", request.request_id, e.what());
    return ErrorResponse(Error::Internal(e.what()));
  } catch (...) {
    spdlog::error("request {}: the handler threw a non-standard exception", request.request_id);
    return ErrorResponse(Error::Internal("unknown exception"));
  }
}

void HttpServer::Impl::Register(Session* session, std::weak_ptr<Session> handle) {
  std::lock_guard lock(sessions_mutex_);
  sessions_.emplace(session, std::move(handle));
}

void HttpServer::Impl::Unregister(Session* session) {
  std::lock_guard lock(sessions_mutex_);
  if (sessions_.erase(session) > 0 && sessions_.empty()) sessions_cv_.notify_all();
}

Result<std::uint16_t> HttpServer::Impl::Start() {
  std::lock_guard lifecycle(lifecycle_mutex_);
  if (running_) return Error{ErrorCode::kFailedPrecondition, "the server is already running", {}};

  stopping_.store(false, std::memory_order_release);
  for (int i = 0; i < options_.threads; ++i) {
    contexts_.push_back(std::make_unique<asio::io_context>(1));
    keep_running_.push_back(asio::make_work_guard(*contexts_.back()));
  }
  const auto fail = [&](const beast::error_code& ec) -> Result<std::uint16_t> {
    std::string message = "cannot listen on " + HostPort(options_.host, options_.port) + ": " + ec.message();
    spdlog::error("{}", message);
    accept_retry_.reset();
    acceptor_.reset();
    keep_running_.clear();
    contexts_.clear();
    return Error{ErrorCode::kUnavailable, message, message};
  };

  beast::error_code ec;
  tcp::resolver resolver(*contexts_.front());
  const auto endpoints = resolver.resolve(options_.host, std::to_string(options_.port),
                                          tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec) return fail(ec);
  if (endpoints.empty()) return fail(asio::error::host_not_found);
  const tcp::endpoint endpoint = endpoints.begin()->endpoint();

  acceptor_ = std::make_unique<tcp::acceptor>(*contexts_.front());
  acceptor_->open(endpoint.protocol(), ec);
  if (!ec) acceptor_->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_->bind(endpoint, ec);
  if (!ec) acceptor_->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail(ec);
  const std::uint16_t bound = acceptor_->local_endpoint(ec).port();
  if (ec) return fail(ec);
  accept_retry_ = std::make_unique<asio::steady_timer>(acceptor_->get_executor());

  port_.store(bound, std::memory_order_release);
  if (options_.access_log) {
    access_blocks_.resize(contexts_.size());
    for (std::size_t i = 0; i < contexts_.size(); ++i) {
      access_timers_.push_back(std::make_unique<asio::steady_timer>(*contexts_[i]));
      ScheduleAccessFlush(i);
    }
  }
  DoAccept();
  workers_.reserve(static_cast<std::size_t>(options_.threads));
  for (auto& context : contexts_) workers_.emplace_back([this, &context = *context] { RunWorker(context); });
  running_ = true;
  spdlog::info("listening on {}", HostPort(options_.host, bound));
  return bound;
}

void HttpServer::Impl::RunWorker(asio::io_context& context) {
  tl_worker_of = this;
  for (;;) {
    try {
      context.run();
      break;
    } catch (const std::exception& e) {
      spdlog::error("http worker: unexpected exception: {}", e.what());
    } catch (...) {
      spdlog::error("http worker: unexpected non-standard exception");
    }
  }
  tl_worker_of = nullptr;
}

void HttpServer::Impl::DoAccept() {
  const std::size_t context = next_context_++ % contexts_.size();
  acceptor_->async_accept(*contexts_[context], [this, context](beast::error_code ec, Socket socket) {
    OnAccept(context, ec, std::move(socket));
  });
}

void HttpServer::Impl::OnAccept(std::size_t context, beast::error_code ec, Socket socket) {
  if (stopping() || ec == asio::error::operation_aborted || !acceptor_->is_open()) return;
  if (ec) {
    // E.g. EMFILE: pause instead of spinning on an error that will repeat at once.
    spdlog::warn("accept failed: {}", ec.message());
    accept_retry_->expires_after(kAcceptRetryDelay);
    accept_retry_->async_wait([this](beast::error_code wait_ec) {
      if (!wait_ec && !stopping()) DoAccept();
    });
    return;
  }
  socket.set_option(tcp::no_delay(true), ec);
  std::make_shared<Session>(*this, context, std::move(socket))->Start();
  DoAccept();
}

void HttpServer::Impl::LogAccess(std::size_t context, std::string_view request_id, std::string_view method,
                                 std::string_view path, int status, std::int64_t micros) {
  if (!options_.access_log) return;
  AccessLogBlock& block = access_blocks_[context];
  block.Add(request_id, method, path, status, micros);
  if (block.full()) block.Flush(options_.access_log);
}

void HttpServer::Impl::ScheduleAccessFlush(std::size_t context) {
  access_timers_[context]->expires_after(kAccessFlushInterval);
  access_timers_[context]->async_wait([this, context](beast::error_code ec) {
    if (ec) return;
    access_blocks_[context].Flush(options_.access_log);
    ScheduleAccessFlush(context);
  });
}

void HttpServer::Impl::BeginShutdown() {
  if (stopping_.exchange(true, std::memory_order_acq_rel)) return;
  spdlog::info("stopping: no new connections; finishing in-flight requests");
  {
    std::lock_guard lock(signal_mutex_);
    if (signal_context_ != nullptr) signal_context_->stop();
  }
  asio::post(acceptor_->get_executor(), [this] {
    beast::error_code ec;
    acceptor_->close(ec);
    accept_retry_->cancel();
  });
  std::vector<std::shared_ptr<Session>> live;
  {
    std::lock_guard lock(sessions_mutex_);
    live.reserve(sessions_.size());
    for (const auto& [raw, handle] : sessions_)
      if (auto session = handle.lock()) live.push_back(std::move(session));
  }
  for (const auto& session : live) session->RequestShutdown();
}

void HttpServer::Impl::Stop() {
  if (tl_worker_of == this) {
    // Called from a handler: joining here would wait for this very thread.
    BeginShutdown();
    return;
  }
  std::lock_guard lifecycle(lifecycle_mutex_);
  if (!running_) return;
  BeginShutdown();
  {
    std::unique_lock lock(sessions_mutex_);
    if (!sessions_cv_.wait_for(lock, options_.shutdown_grace, [this] { return sessions_.empty(); })) {
      spdlog::warn("stopping: {} connection(s) still busy after {} ms; abandoning them", sessions_.size(),
                   options_.shutdown_grace.count());
    }
  }
  for (auto& context : contexts_) context->stop();
  for (auto& worker : workers_) worker.join();
  workers_.clear();
  for (auto& block : access_blocks_) block.Flush(options_.access_log);
  access_blocks_.clear();
  access_timers_.clear();
  accept_retry_.reset();
  acceptor_.reset();
  keep_running_.clear();
  contexts_.clear();  // destroys abandoned sessions
  port_.store(0, std::memory_order_release);
  running_ = false;
  spdlog::info("stopped");
}

void HttpServer::Impl::RunUntilSignal() {
  {
    std::lock_guard lifecycle(lifecycle_mutex_);
    if (!running_) {
      spdlog::warn("RunUntilSignal: the server is not running");
      return;
    }
  }
  asio::io_context signal_context(1);
  asio::signal_set signals(signal_context, SIGINT, SIGTERM);
  int received = 0;
  signals.async_wait([&received](beast::error_code ec, int signal_number) {
    if (!ec) received = signal_number;
  });
  bool wait = false;
  {
    std::lock_guard lock(signal_mutex_);
    wait = !stopping();
    if (wait) signal_context_ = &signal_context;
  }
  if (wait) signal_context.run();
  {
    std::lock_guard lock(signal_mutex_);
    signal_context_ = nullptr;
  }
  if (received != 0) spdlog::info("received signal {}", received);
  Stop();
}

HttpServer::HttpServer(HttpServerOptions options, Handler handler)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler))) {}

HttpServer::~HttpServer() = default;

Result<std::uint16_t> HttpServer::Start() { return impl_->Start(); }
void HttpServer::Stop() { impl_->Stop(); }
void HttpServer::RunUntilSignal() { impl_->RunUntilSignal(); }
std::uint16_t HttpServer::port() const { return impl_->port(); }

}  // namespace cohort::api
