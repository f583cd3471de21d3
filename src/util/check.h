// The one family of check macros.
//
//   DP_CHECK(cond, msg...)      internal invariant; on failure prints
//                               "dptrain: [rank R @ host] file:line: check `cond` failed: msg"
//                               and aborts the whole job (MPI_Abort when MPI is up).
//   DP_CHECK_OK(status)         same, for a Status returned by comm/ or kernels/.
//   DP_USER_CHECK(cond, msg...) bad input from the user (a flag, a file): throws
//                               dp::UserError, which main() turns into one clear line and
//                               exit code 2 on every rank.
//
// The message arguments are streamed: DP_CHECK(n > 0, "n=", n, " in ", path).
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace dp {

// Bad input: one line, names the file or flag, exit code 2.
class UserError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Rank and host shown in every check message; set once after MPI is initialised.
void set_process_identity(int rank, const std::string& host);
int process_rank();                 // -1 before set_process_identity
const std::string& process_host();  // "?" before set_process_identity

// Called instead of std::abort when a check fails (main installs MPI_Abort here).
using AbortHandler = void (*)(int exit_code);
void set_abort_handler(AbortHandler handler);

[[noreturn]] void check_failed(const char* file, int line, const char* expr, const std::string& message);

// "[rank R @ host]" prefix used by all diagnostics.
std::string identity_prefix();

template <typename... Args>
std::string concat(const Args&... args) {
  std::ostringstream out;
  (out << ... << args);
  return out.str();
}

}  // namespace dp

#define DP_CHECK(cond, ...)                                                                \
  do {                                                                                     \
    if (!(cond)) ::dp::check_failed(__FILE__, __LINE__, #cond, ::dp::concat(__VA_ARGS__)); \
  } while (0)

#define DP_CHECK_OK(status_expr)                                                                      \
  do {                                                                                                \
    const auto dp_status_ = (status_expr);                                                            \
    if (!dp_status_.ok()) ::dp::check_failed(__FILE__, __LINE__, #status_expr, dp_status_.message()); \
  } while (0)

#define DP_USER_CHECK(cond, ...)                                   \
  do {                                                             \
    if (!(cond)) throw ::dp::UserError(::dp::concat(__VA_ARGS__)); \
  } while (0)
