// What addon.cc calls: each native source file registers its functions on
// the addon's exports.
#pragma once

#include <napi.h>

namespace kmmap {

void InitMapping(Napi::Env env, Napi::Object exports);
void InitMemory(Napi::Env env, Napi::Object exports);
void InitPagemap(Napi::Env env, Napi::Object exports);
void InitIoctl(Napi::Env env, Napi::Object exports);
void InitHelpers(Napi::Env env, Napi::Object exports);

}  // namespace kmmap
