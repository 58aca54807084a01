// Errors thrown by the addon, shaped like Node's own system errors so that
// lib/ can pass them on or enrich them (path, hint) without translation.
#pragma once

#include <napi.h>

namespace kmmap {

// Throws `Error` with errno (negative, as in Node) and syscall; lib/binding.ts
// adds the code ('EINVAL') and Node's message for that errno. Returns
// undefined for `return` chaining.
Napi::Value ThrowErrno(Napi::Env env, int err, const char* syscall);

// Throws `Error` (or TypeError) with a kmmap-specific code ('ERR_KMMAP_...').
Napi::Value ThrowCoded(Napi::Env env, const char* code, const char* message);
Napi::Value ThrowTypeError(Napi::Env env, const char* message);

}  // namespace kmmap

// Argument checks: lib/ validates every argument; these only keep a wrong
// call from reaching a syscall with garbage.
#define KMMAP_EXPECT(cond, message)                 \
  do {                                              \
    if (!(cond)) return kmmap::ThrowTypeError(env, message); \
  } while (0)
