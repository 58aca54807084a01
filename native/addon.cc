// Entry point of the kmmap addon: a handful of syscall primitives with no
// policy. lib/ validates arguments and owns the public API.
#include "addon.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  kmmap::InitMapping(env, exports);
  kmmap::InitMemory(env, exports);
  kmmap::InitPagemap(env, exports);
  kmmap::InitIoctl(env, exports);
  kmmap::InitHelpers(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(kmmap, Init)
