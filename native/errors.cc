#include "errors.h"

#include <string>

namespace kmmap {
namespace {

// Every step may fail once the environment is shutting down (a worker being
// terminated): Node-API then refuses to throw. Nothing here may abort, so
// each failure just stops building the error; the caller returns undefined
// either way, and a dying environment runs no more JavaScript.
void Throw(napi_env env, bool type_error, const std::string& message,
           const char* code, const int* errno_value, const char* syscall) {
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) != napi_ok || pending) return;
  napi_value text, error, value;
  if (napi_create_string_utf8(env, message.data(), message.size(), &text) !=
      napi_ok) {
    return;
  }
  napi_status status = type_error
                           ? napi_create_type_error(env, nullptr, text, &error)
                           : napi_create_error(env, nullptr, text, &error);
  if (status != napi_ok) return;
  if (errno_value != nullptr &&
      napi_create_int32(env, *errno_value, &value) == napi_ok) {
    napi_set_named_property(env, error, "errno", value);
  }
  if (code != nullptr &&
      napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &value) == napi_ok) {
    napi_set_named_property(env, error, "code", value);
  }
  if (syscall != nullptr &&
      napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &value) ==
          napi_ok) {
    napi_set_named_property(env, error, "syscall", value);
  }
  napi_throw(env, error);
}

}  // namespace

Napi::Value ThrowErrno(Napi::Env env, int err, const char* syscall) {
  // Only the numbers: lib/binding.ts names the error and words its message
  // with util.getSystemErrorMap(), as Node's fs errors are. libuv's own
  // uv_err_name and uv_strerror would do the same, but not every runtime
  // that loads Node-API addons provides them (Bun aborts on uv_strerror).
  std::string message = "errno " + std::to_string(err) + ", " + syscall;
  int node_errno = -err;
  Throw(env, false, message, nullptr, &node_errno, syscall);
  return env.Undefined();
}

Napi::Value ThrowCoded(Napi::Env env, const char* code, const char* message) {
  Throw(env, false, message, code, nullptr, nullptr);
  return env.Undefined();
}

Napi::Value ThrowTypeError(Napi::Env env, const char* message) {
  Throw(env, true, message, "ERR_INVALID_ARG_TYPE", nullptr, nullptr);
  return env.Undefined();
}

}  // namespace kmmap
