// The /proc files indexed by page: /proc/<pid>/pagemap (one 8-byte entry per
// virtual page), /proc/kpageflags and /proc/kpagecount (one per physical
// frame). One pread fills many entries. And the PAGEMAP_SCAN ioctl (Linux
// 6.7+), which walks the page tables in the kernel and returns only regions.
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "errors.h"
#include "addon.h"

// Debian 12's headers predate PAGEMAP_SCAN: the ABI is fixed, so it is
// spelled out here (include/uapi/linux/fs.h).
#ifndef PAGEMAP_SCAN
struct pm_scan_arg {
  uint64_t size;
  uint64_t flags;
  uint64_t start;
  uint64_t end;
  uint64_t walk_end;
  uint64_t vec;
  uint64_t vec_len;
  uint64_t max_pages;
  uint64_t category_inverted;
  uint64_t category_mask;
  uint64_t category_anyof_mask;
  uint64_t return_mask;
};
struct page_region {
  uint64_t start;
  uint64_t end;
  uint64_t categories;
};
#define PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)
#endif

namespace kmmap {
namespace {

// readEntries(fd, firstIndex, out: BigUint64Array) -> entries read: pread of
// 8-byte entries from file offset firstIndex * 8. Fewer than out.length only
// at the end of the file (the address space, or the highest PFN).
Napi::Value ReadEntries(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  KMMAP_EXPECT(info.Length() == 3 && info[0].IsNumber() &&
                   info[1].IsNumber() && info[2].IsTypedArray(),
               "readEntries(fd, firstIndex, out)");
  int fd = info[0].As<Napi::Number>().Int32Value();
  double first = info[1].As<Napi::Number>().DoubleValue();
  Napi::TypedArray out = info[2].As<Napi::TypedArray>();
  KMMAP_EXPECT(out.TypedArrayType() == napi_biguint64_array,
               "out must be a BigUint64Array");
  // lib/ keeps indexes exact doubles (below 2^53), so index * 8 fits off_t.
  KMMAP_EXPECT(first >= 0 && first < 9007199254740992.0,
               "firstIndex out of range");

  auto* dest = static_cast<uint8_t*>(out.ArrayBuffer().Data()) +
               out.ByteOffset();
  size_t wanted = out.ByteLength();
  off_t offset = static_cast<off_t>(first) * 8;
  size_t done = 0;
  while (done < wanted) {
    ssize_t n = pread(fd, dest + done, wanted - done, offset + done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ThrowErrno(env, errno, "pread");
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return Napi::Number::New(env, static_cast<double>(done / 8));
}

// pagemapScan(fd, start, end, returnMask, out: BigUint64Array) ->
// { regions, walkEnd }. out holds (start, end, categories) triples; the walk
// stops early at walkEnd when out is full. ENOTTY before Linux 6.7, EINVAL
// for category bits this kernel does not know.
Napi::Value PagemapScan(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  KMMAP_EXPECT(info.Length() == 5 && info[0].IsNumber() &&
                   info[1].IsBigInt() && info[2].IsBigInt() &&
                   info[3].IsNumber() && info[4].IsTypedArray(),
               "pagemapScan(fd, start, end, returnMask, out)");
  int fd = info[0].As<Napi::Number>().Int32Value();
  bool lossless = true;
  uint64_t start = info[1].As<Napi::BigInt>().Uint64Value(&lossless);
  KMMAP_EXPECT(lossless, "start must fit in 64 bits");
  uint64_t end = info[2].As<Napi::BigInt>().Uint64Value(&lossless);
  KMMAP_EXPECT(lossless, "end must fit in 64 bits");
  uint32_t return_mask = info[3].As<Napi::Number>().Uint32Value();
  Napi::TypedArray out = info[4].As<Napi::TypedArray>();
  KMMAP_EXPECT(out.TypedArrayType() == napi_biguint64_array &&
                   out.ElementLength() >= 3 && out.ElementLength() % 3 == 0,
               "out must be a BigUint64Array of (start, end, categories) triples");

  auto* regions = reinterpret_cast<page_region*>(
      static_cast<uint8_t*>(out.ArrayBuffer().Data()) + out.ByteOffset());
  pm_scan_arg arg = {};
  arg.size = sizeof(arg);
  arg.start = start;
  arg.end = end;
  arg.vec = reinterpret_cast<uintptr_t>(regions);
  arg.vec_len = out.ElementLength() / 3;
  arg.return_mask = return_mask;
  int n;
  do {
    n = ioctl(fd, PAGEMAP_SCAN, &arg);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return ThrowErrno(env, errno, "ioctl");

  Napi::Object result = Napi::Object::New(env);
  result.Set("regions", Napi::Number::New(env, n));
  result.Set("walkEnd", Napi::BigInt::New(env, arg.walk_end));
  return result;
}

}  // namespace

void InitPagemap(Napi::Env env, Napi::Object exports) {
  exports.Set("readEntries",
              Napi::Function::New(env, ReadEntries, "readEntries"));
  exports.Set("pagemapScan",
              Napi::Function::New(env, PagemapScan, "pagemapScan"));
}

}  // namespace kmmap
