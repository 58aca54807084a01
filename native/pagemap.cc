// Batched reads of /proc/<pid>/pagemap: one 8-byte entry per virtual page,
// at file offset (address / page size) * 8. One pread fills many entries.
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "errors.h"
#include "kmmap.h"

namespace kmmap {
namespace {

// readPagemap(fd, firstPage, out: BigUint64Array) -> entries read. Fewer than
// out.length only at the end of the address space.
Napi::Value ReadPagemap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  KMMAP_EXPECT(info.Length() == 3 && info[0].IsNumber() &&
                   info[1].IsNumber() && info[2].IsTypedArray(),
               "readPagemap(fd, firstPage, out)");
  int fd = info[0].As<Napi::Number>().Int32Value();
  double first_page = info[1].As<Napi::Number>().DoubleValue();
  Napi::TypedArray out = info[2].As<Napi::TypedArray>();
  KMMAP_EXPECT(out.TypedArrayType() == napi_biguint64_array,
               "out must be a BigUint64Array");
  // Offsets are page index * 8; the largest valid one is far below 2^63.
  KMMAP_EXPECT(first_page >= 0 && first_page < 1099511627776.0 * 1024,
               "firstPage out of range");

  auto* dest = static_cast<uint8_t*>(out.ArrayBuffer().Data()) +
               out.ByteOffset();
  size_t wanted = out.ByteLength();
  off_t offset = static_cast<off_t>(first_page) * 8;
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

}  // namespace

void InitPagemap(Napi::Env env, Napi::Object exports) {
  exports.Set("readPagemap",
              Napi::Function::New(env, ReadPagemap, "readPagemap"));
}

}  // namespace kmmap
