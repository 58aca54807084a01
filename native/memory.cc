// Operations on the memory of a live mapping: msync, madvise, mlock2,
// munlock, mprotect and mincore. Each takes a mapping handle and a
// page-aligned range of it (ReadMappingRange), never a bare address, so no
// call can reach memory that is not a kmmap mapping (madvise(DONTNEED) on
// the JavaScript heap would be a disaster). lib/memory.ts names the flags.
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "errors.h"
#include "addon.h"
#include "live_mapping.h"

namespace kmmap {
namespace {

// Reads info[3] as an int argument (flags, advice, protection).
bool ReadIntArgument(const Napi::CallbackInfo& info, int* value) {
  if (info.Length() != 4 || !info[3].IsNumber()) {
    ThrowTypeError(info.Env(), "expected (handle, offset, length, flags)");
    return false;
  }
  *value = info[3].As<Napi::Number>().Int32Value();
  return true;
}

// The shape every call here but mincore shares: read the range (and, with
// an int argument, info[3]), make the call, throw its errno as `syscall`.
template <typename Call>
Napi::Value CallOnRange(const Napi::CallbackInfo& info, const char* syscall,
                        bool has_int_argument, Call call) {
  Napi::Env env = info.Env();
  MappingRange range;
  int argument = 0;
  if (!ReadMappingRange(info, &range) ||
      (has_int_argument && !ReadIntArgument(info, &argument))) {
    return env.Undefined();
  }
  if (call(range.start, range.length, argument) != 0) {
    return ThrowErrno(env, errno, syscall);
  }
  return env.Undefined();
}

// msync(handle, offset, length, flags)
Napi::Value Msync(const Napi::CallbackInfo& info) {
  return CallOnRange(info, "msync", true, [](void* start, size_t length, int flags) {
    return msync(start, length, flags);
  });
}

// madvise(handle, offset, length, advice), retried on EINTR.
Napi::Value Madvise(const Napi::CallbackInfo& info) {
  return CallOnRange(info, "madvise", true, [](void* start, size_t length, int advice) {
    int result;
    do {
      result = madvise(start, length, advice);
    } while (result != 0 && errno == EINTR);
    return result;
  });
}

// mlock(handle, offset, length, flags): mlock2, so MLOCK_ONFAULT works. The
// raw syscall keeps the addon loadable on a glibc without the wrapper.
Napi::Value Mlock(const Napi::CallbackInfo& info) {
  return CallOnRange(info, "mlock2", true, [](void* start, size_t length, int flags) {
    return static_cast<int>(syscall(SYS_mlock2, start, length, flags));
  });
}

// munlock(handle, offset, length)
Napi::Value Munlock(const Napi::CallbackInfo& info) {
  return CallOnRange(info, "munlock", false, [](void* start, size_t length, int) {
    return munlock(start, length);
  });
}

// mprotect(handle, offset, length, prot)
Napi::Value Mprotect(const Napi::CallbackInfo& info) {
  return CallOnRange(info, "mprotect", true, [](void* start, size_t length, int prot) {
    return mprotect(start, length, prot);
  });
}

// mincore(handle, offset, length) -> Uint8Array, one 0/1 per page.
Napi::Value Mincore(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  MappingRange range;
  if (!ReadMappingRange(info, &range)) return env.Undefined();
  size_t page = PageSize();
  size_t pages = RoundUpToPages(range.length) / page;
  Napi::Uint8Array result = Napi::Uint8Array::New(env, pages);
  if (mincore(range.start, range.length, result.Data()) != 0) {
    return ThrowErrno(env, errno, "mincore");
  }
  // The other bits of each byte are reserved: keep only "resident".
  for (size_t i = 0; i < pages; i++) result[i] &= 1;
  return result;
}

}  // namespace

void InitMemory(Napi::Env env, Napi::Object exports) {
  exports.Set("msync", Napi::Function::New(env, Msync, "msync"));
  exports.Set("madvise", Napi::Function::New(env, Madvise, "madvise"));
  exports.Set("mlock", Napi::Function::New(env, Mlock, "mlock"));
  exports.Set("munlock", Napi::Function::New(env, Munlock, "munlock"));
  exports.Set("mprotect", Napi::Function::New(env, Mprotect, "mprotect"));
  exports.Set("mincore", Napi::Function::New(env, Mincore, "mincore"));
}

}  // namespace kmmap
