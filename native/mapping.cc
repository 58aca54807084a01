// mmap, munmap and mremap, with the memory exposed as external ArrayBuffers.
//
// A mapping is a LiveMapping (live_mapping.h) held by a handle; its memory,
// a Range, is seen through views, zero-copy. A Range is munmapped once no
// pointer into it can exist any more: when it was closed (or its handle
// collected) and every view over it is finished, that is, both its
// ArrayBuffer object collected and its backing store freed. Until then a
// closed range holds private anonymous memory (see live_mapping.h).
// A mapping belongs to the thread (environment) that made it; each worker
// makes its own, and its teardown finalizes them.
//
// Every entry point survives a dying environment (a worker being
// terminated): Node-API calls may fail there, so no status leads to an
// abort (errors.cc; NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS in binding.gyp).
//
// Garbage collection: V8 does not know what a mapping holds (a VMA, maybe an
// fd), so each range and owned fd is reported as external memory, enough
// that a few thousand dropped mappings start a collection. And kmmap refuses
// new ranges or memfds beyond a budget kept well below vm.max_map_count and
// RLIMIT_NOFILE, so waiting for the collector can exhaust neither.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "errors.h"
#include "addon.h"
#include "live_mapping.h"

#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

namespace kmmap {

struct View {
  Range* range;              // the memory it points into
  LiveMapping* tracked_by;   // the mapping that may still detach it, or nullptr
  View* prev;                // its neighbours in tracked_by->views
  View* next;
  napi_ref ref;              // weak, from napi_add_finalizer: to detach it
  bool object_gone;          // its ArrayBuffer object was collected
  bool store_gone;           // its backing store (the memory it holds) was freed
};

namespace {

// Tells a handle made here from any other External.
const napi_type_tag kHandleTag = {0x6b6d6d6170686e64ULL, 0x4c6976654d617070ULL};

// ---- Budgets, shared by every thread of the process ----

std::atomic<size_t> g_ranges{0};     // ranges reserved (mapped or placeholder)
std::atomic<size_t> g_owned_fds{0};  // memfds owned by mappings

// V8 collects once external memory grew by 64 MiB since the last collection:
// each range (or fd) is reported as an eighth of that over an eighth of the
// budget, so a collection starts well before the budget runs out.
constexpr int64_t kPressure = 64 << 20;

size_t MapBudget() {
  static const size_t budget = [] {
    size_t max = 65530;  // the kernel's default
    if (FILE* f = fopen("/proc/sys/vm/max_map_count", "re")) {
      unsigned long value;
      if (fscanf(f, "%lu", &value) == 1 && value > 0) max = value;
      fclose(f);
    }
    // Half for kmmap; the other half for V8, malloc, libraries, and the
    // VMAs that protect() or lock() on part of a mapping split off.
    return max / 2;
  }();
  return budget;
}

size_t FdBudget() {
  // Read each time: the soft limit can change (setrlimit, prlimit). Half for
  // kmmap, as with VMAs: the rest of the process needs fds too.
  struct rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) {
    return 1 << 20;
  }
  return static_cast<size_t>(limit.rlim_cur) / 2;
}

// Lines of /proc/self/maps: the process's VMAs, or 0 if unreadable.
size_t CountVmas() {
  int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  size_t lines = 0;
  char chunk[65536];
  ssize_t n;
  while ((n = read(fd, chunk, sizeof chunk)) > 0 ||
         (n < 0 && errno == EINTR)) {
    for (ssize_t i = 0; i < n; i++) lines += chunk[i] == '\n';
  }
  close(fd);
  return lines;
}

// Past the budget by kmmap's own count, the kernel's VMAs may still be fewer
// (closed placeholders are private anonymous memory and merge with their
// neighbours), so kmmap then counts the VMAs themselves. A count stays good
// for a while: every take or release of a range changes the number of VMAs
// by at most one (a release inside a merged placeholder splits it), so after
// counting `vmas`, (budget - vmas) / 2 more changes of either kind cannot
// reach the budget. g_room is what is left of that; it is spent by takes and
// releases alike, so it can never go stale.
std::atomic<long> g_room{0};
std::atomic<bool> g_refused{false};  // refused, and nothing released since

void SpendRoom() { g_room.fetch_sub(1); }

void FlushReleases();

// Takes one range from the budget, or returns false (nothing taken).
bool TakeRange() {
  FlushReleases();  // what is queued counts against the budget until then
  size_t n = g_ranges.fetch_add(1) + 1;
  size_t budget = MapBudget();
  SpendRoom();
  if (n <= budget || g_room.load() > 0) return true;
  // Refused before and nothing released since: counting again would only
  // cost a read of /proc/self/maps per attempt.
  if (!g_refused.load()) {
    size_t vmas = CountVmas();
    if (vmas > 0 && vmas < budget) {
      g_room = static_cast<long>((budget - vmas) / 2);
      return true;
    }
  }
  g_refused = true;
  g_ranges--;
  return false;
}

// Gives a range back to the budget (its VMA is gone or about to go).
void GiveRange() {
  g_ranges--;
  SpendRoom();
  g_refused = false;
}

int64_t RangeCost() {
  static const int64_t cost = [] {
    int64_t c = kPressure * 8 / static_cast<int64_t>(MapBudget() + 1);
    return c < (16 << 10) ? int64_t{16 << 10} : c;
  }();
  return cost;
}

int64_t FdCost() {
  int64_t c = kPressure * 8 / static_cast<int64_t>(FdBudget() + 1);
  return c < (16 << 10) ? int64_t{16 << 10} : c;
}

void AdjustExternal(napi_env env, int64_t change) {
  int64_t ignored;
  napi_adjust_external_memory(env, change, &ignored);
}

// ---- Ranges ----

// Private anonymous memory in place of [address, + length), atomically: the
// file or device is no longer mapped there, and whatever still points there
// reads zeros and writes into memory no one else sees.
int Placeholder(uint8_t* address, size_t length, int fixed = MAP_FIXED) {
  if (length == 0) return 0;
  void* result = mmap(address, length, PROT_READ | PROT_WRITE,
                      fixed | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (result == MAP_FAILED) return errno;
  if (result != address) {  // an old kernel ignoring MAP_FIXED_NOREPLACE
    munmap(result, length);
    return EEXIST;
  }
  return 0;
}

Range* NewRange(napi_env env, uint8_t* base, size_t length, LiveMapping* owner) {
  AdjustExternal(env, RangeCost());
  return new Range{base, length, 0, owner, nullptr};
}

// A retired range (closed, or left behind by resize()) waits only for the
// collector to finish its views, and as private anonymous memory it mostly
// merges with its neighbours instead of holding a VMA of its own: it counts
// a quarter of an open range, so that a loop of map() and close() starts a
// quarter as many full collections (their concurrent marking cost such a
// loop about 3 %). Whether a range is retired is its owner being nullptr.
int64_t RetiredCost() { return RangeCost() / 4; }

void Retire(napi_env env, Range* range) {
  range->owner = nullptr;  // released by its last view
  AdjustExternal(env, RetiredCost() - RangeCost());
}

// Unmaps a range no view can reach and gives it back to the budget.
// Returns munmap's errno, or 0; either way the range is gone.
int UnmapRange(Range* range) {
  int err = range->reserved == 0 || munmap(range->base, range->reserved) == 0
                ? 0 : errno;
  GiveRange();
  delete range;
  return err;
}

// Takes a range that is being released off V8's external memory.
void Unaccount(napi_env env, const Range* range) {
  AdjustExternal(env, range->owner == nullptr ? -RetiredCost() : -RangeCost());
}

// Returns munmap's errno, or 0. Either way the range is gone from kmmap's
// books: nothing may reach it again.
int ReleaseRange(napi_env env, Range* range) {
  Unaccount(env, range);
  return UnmapRange(range);
}

// ---- Releasing ranges in batches ----
//
// A range is released from a finalizer, when the last view of a closed (or
// dropped) mapping is finished, and finalizers come in bursts on a turn of
// the event loop: a loop of map() and close() releases thousands at once,
// each one page inside the merged placeholders of its neighbours. One
// munmap each cost about a sixth of a 4 KiB map cycle (a system call and a
// split VMA, measured in C); neighbours released together are one munmap of
// their whole span. So a finalizer only queues its range, and the queue is
// munmapped, neighbours merged, on the next turn of the event loop (a
// thread-safe function: the Node-API way to run later on the JS thread),
// before map() or resize() takes a range from the budget, and when it
// reaches kMaxQueued. Nothing can reach a queued range: it only keeps its
// address space (placeholder memory) one turn longer. While the
// environment shuts down, or if no later turn can be had, ranges are
// munmapped at once, as before.
constexpr size_t kMaxQueued = 4096;

struct ReleaseQueue {
  Range* head;                   // linked through Range::next_released
  size_t count;
  napi_env env;                  // whose turns `turn` runs on
  napi_threadsafe_function turn; // calls FlushReleases on a later turn
  bool scheduled;                // a call of `turn` is on its way
  bool closing;                  // the environment is shutting down
};

// One per thread: an environment's finalizers and calls all run on its JS
// thread. Trivially destructible, so a late finalizer of a dying worker
// still finds it.
thread_local ReleaseQueue t_releases{nullptr, 0, nullptr, nullptr, false, false};

// munmaps every queued range, one system call per run of neighbours.
void FlushReleases() {
  ReleaseQueue& queue = t_releases;
  if (queue.head == nullptr) return;
  std::vector<Range*> ranges;
  ranges.reserve(queue.count);
  for (Range* range = queue.head; range != nullptr; range = range->next_released) {
    ranges.push_back(range);
  }
  queue.head = nullptr;
  queue.count = 0;
  std::sort(ranges.begin(), ranges.end(),
            [](const Range* a, const Range* b) { return a->base < b->base; });
  for (size_t i = 0; i < ranges.size();) {
    uint8_t* start = ranges[i]->base;
    uint8_t* end = start + ranges[i]->reserved;
    size_t next = i + 1;
    while (next < ranges.size() && ranges[next]->base == end) {
      end += ranges[next]->reserved;
      next++;
    }
    // A failure leaves the span mapped (placeholder memory, reachable by no
    // one), as a failed munmap in a finalizer always did.
    munmap(start, static_cast<size_t>(end - start));
    for (; i < next; i++) {
      GiveRange();
      delete ranges[i];
    }
  }
}

// ReleaseRange() for a finalizer: the munmap may wait for FlushReleases().
void ReleaseSoon(napi_env env, Range* range) {
  Unaccount(env, range);
  ReleaseQueue& queue = t_releases;
  if (range->reserved == 0 || queue.closing || queue.turn == nullptr ||
      queue.env != env) {
    UnmapRange(range);
    return;
  }
  range->next_released = queue.head;
  queue.head = range;
  if (++queue.count >= kMaxQueued) {
    FlushReleases();
    return;
  }
  if (queue.scheduled) return;
  if (napi_call_threadsafe_function(queue.turn, nullptr,
                                    napi_tsfn_nonblocking) == napi_ok) {
    queue.scheduled = true;
  } else {
    FlushReleases();  // no later turn (the environment is closing)
  }
}

// The thread-safe function's call, on a later turn (env is null while it is
// being torn down: the munmaps need none).
// Ranges queued after a flush by map() wait for this same call.
void FlushOnTurn(napi_env, napi_value, void*, void*) {
  t_releases.scheduled = false;
  FlushReleases();
}

// The thread-safe function is gone (the environment shuts down).
void TurnGone(napi_env, void*, void*) {
  t_releases.turn = nullptr;
  t_releases.closing = true;
  FlushReleases();
}

// The environment shuts down: what is queued goes now, and what follows at once.
void ReleasesClosing(void*) {
  t_releases.closing = true;
  FlushReleases();
}

// Sets up the queue for this thread's environment, once per environment.
void InitReleases(napi_env env) {
  ReleaseQueue& queue = t_releases;
  if (queue.env == env && !queue.closing) return;
  FlushReleases();  // a previous environment's, had it left any
  queue = {nullptr, 0, env, nullptr, false, false};
  if (napi_add_env_cleanup_hook(env, ReleasesClosing, nullptr) != napi_ok) {
    queue.closing = true;  // no word of the shutdown: never queue
    return;
  }
  napi_value name;
  napi_threadsafe_function turn;
  if (napi_create_string_utf8(env, "kmmap:release", NAPI_AUTO_LENGTH,
                              &name) != napi_ok ||
      napi_create_threadsafe_function(env, nullptr, nullptr, name, 0, 1,
                                      nullptr, TurnGone, nullptr, FlushOnTurn,
                                      &turn) != napi_ok) {
    return;  // no later turns to be had: ranges are munmapped at once
  }
  // It must not keep the process alive.
  if (napi_unref_threadsafe_function(env, turn) != napi_ok) {
    napi_release_threadsafe_function(turn, napi_tsfn_abort);
    return;
  }
  queue.turn = turn;
}

void CloseOwnedFd(napi_env env, LiveMapping* mapping) {
  if (mapping->owned_fd < 0) return;
  close(mapping->owned_fd);
  mapping->owned_fd = -1;
  g_owned_fds--;
  AdjustExternal(env, -FdCost());
}

// Releases what nothing can reach any more: a retired range without pending
// views, or an open mapping whose handle and views are all gone.
void Settle(napi_env env, Range* range) {
  if (range->pending > 0) return;
  LiveMapping* mapping = range->owner;
  if (mapping == nullptr) {
    ReleaseSoon(env, range);
    return;
  }
  if (mapping->handle_alive) return;
  mapping->range = nullptr;
  ReleaseSoon(env, range);
  CloseOwnedFd(env, mapping);
  delete mapping;
}

// ---- Views ----

void Track(LiveMapping* mapping, View* view) {
  view->tracked_by = mapping;
  view->prev = nullptr;
  view->next = mapping->views;
  if (mapping->views != nullptr) mapping->views->prev = view;
  mapping->views = view;
}

void Untrack(View* view) {
  LiveMapping* mapping = view->tracked_by;
  if (mapping == nullptr) return;
  if (view->prev != nullptr) view->prev->next = view->next;
  else mapping->views = view->next;
  if (view->next != nullptr) view->next->prev = view->prev;
  view->tracked_by = nullptr;
  view->prev = view->next = nullptr;
}

void FinishView(napi_env env, View* view) {
  if (!view->object_gone || !view->store_gone) return;
  Range* range = view->range;
  delete view;
  range->pending--;
  Settle(env, range);
}

// The view's ArrayBuffer object was collected (napi_add_finalizer).
void FinalizeViewObject(napi_env env, void* data, void*) {
  auto* view = static_cast<View*>(data);
  Untrack(view);
  if (view->ref != nullptr) napi_delete_reference(env, view->ref);
  view->ref = nullptr;
  view->object_gone = true;
  FinishView(env, view);
}

// The view's backing store was freed: at collection, at a detach when no
// other object holds it, or when an object it was moved to (transfer()) is
// collected.
void FinalizeViewStore(napi_env env, void*, void* hint) {
  auto* view = static_cast<View*>(hint);
  view->store_gone = true;
  FinishView(env, view);
}

// Detaches every view still attached and stops tracking it: afterwards no
// JavaScript reaches the memory through it. A view Node-API cannot detach
// (a dying environment) is harmless too: its range is kept until it is
// finished. Returns how many views the runtime refused to detach although
// it could still be asked: Bun does not detach an ArrayBuffer that an
// operation in flight holds (fs.read() with a callback pins it), and
// napi_detach_arraybuffer still reports success. Those stay tracked.
size_t DetachViews(napi_env env, LiveMapping* mapping) {
  size_t refused = 0;
  for (View* view = mapping->views, *next; view != nullptr; view = next) {
    next = view->next;
    napi_value value = nullptr;
    bool detached = true;
    if (napi_get_reference_value(env, view->ref, &value) == napi_ok &&
        value != nullptr &&  // else collected: its finalizer is on its way
        napi_is_detached_arraybuffer(env, value, &detached) == napi_ok &&
        !detached) {
      napi_detach_arraybuffer(env, value);
      if (napi_is_detached_arraybuffer(env, value, &detached) == napi_ok &&
          !detached) {
        refused++;
        continue;
      }
    }
    Untrack(view);
  }
  return refused;
}

// close() and resize() change nothing while a view stays attached: it would
// reach throwaway memory while looking live. lib/ names the runtime.
Napi::Value ViewInUse(Napi::Env env, const char* call) {
  std::string message = std::string(call) +
                        ": the runtime did not detach a view of the mapping "
                        "that an operation in flight is using";
  return ThrowCoded(env, "ERR_KMMAP_VIEW_IN_USE", message.c_str());
}

Napi::Value NewView(Napi::Env env, LiveMapping* mapping, size_t offset,
                    size_t length) {
  Range* range = mapping->range;
  auto* view = new View{range, nullptr, nullptr, nullptr, nullptr, false, false};
  napi_value buffer;
  napi_status status = napi_create_external_arraybuffer(
      env, range->base + offset, length, FinalizeViewStore, view, &buffer);
  if (status != napi_ok) {
    // Never hand out a half-made object, and never fall back to a copy.
    delete view;
    bool pending = false;
    napi_value ignored;
    if (napi_is_exception_pending(env, &pending) == napi_ok && pending) {
      napi_get_and_clear_last_exception(env, &ignored);
    }
    if (status == napi_no_external_buffers_allowed) {
      return ThrowCoded(env, "ERR_KMMAP_EXTERNAL_BUFFERS_FORBIDDEN",
                        "This JavaScript runtime forbids external buffers "
                        "(V8 sandbox), so memory cannot be mapped zero-copy");
    }
    return ThrowCoded(env, "ERR_KMMAP_ARRAYBUFFER",
                      "Could not wrap the mapping in an ArrayBuffer");
  }
  // From here the view's finalizers own `view` and end its hold.
  range->pending++;
  // One weak reference both finds the object (to detach it) and tells when
  // it is collected; Node-API lets the finalizer delete it.
  if (napi_add_finalizer(env, buffer, view, FinalizeViewObject, nullptr,
                         &view->ref) != napi_ok) {
    // Never handed out, and close() could not find it: detached, it holds
    // nothing once its store is freed.
    view->ref = nullptr;
    view->object_gone = true;
    napi_detach_arraybuffer(env, buffer);
    return ThrowCoded(env, "ERR_KMMAP_ARRAYBUFFER",
                      "Could not track a view of the mapping");
  }
  Track(mapping, view);
  return Napi::Value(env, buffer);
}

// ---- Handles ----

void FinalizeHandle(napi_env env, void* data, void*) {
  auto* mapping = static_cast<LiveMapping*>(data);
  mapping->handle_alive = false;
  if (mapping->closed) {
    delete mapping;
    return;
  }
  // Open: unmapped now, or by the last view of it (Settle).
  Settle(env, mapping->range);
}

Napi::Value TooMany(Napi::Env env, const char* what, size_t budget) {
  std::string message =
      "kmmap already holds " + std::to_string(budget) + " " + what +
      " (its limit, kept well below vm.max_map_count and RLIMIT_NOFILE), "
      "counting mappings not yet closed, and closed or dropped ones "
      "whose views the "
      "garbage collector has not yet collected: close() mappings you no "
      "longer need instead of leaving them to the garbage collector, and let "
      "the event loop turn so that collected ones are released";
  return ThrowCoded(env, "ERR_KMMAP_TOO_MANY_MAPPINGS", message.c_str());
}

// map(fd, length, prot, flags, ownedFd, io: BigUint64Array) -> handle.
// length is whole pages (lib/ rounds: page.ts), fd is -1 for MAP_ANONYMOUS.
// ownedFd (or -1) is closed with the mapping, but only once this call
// succeeded. io[0] carries the file offset in and the address of the first
// mapped byte out: one array lib/ reuses for every call, because map() is on
// hot paths. A result object with two properties cost a tenth of a small
// file's map-and-unmap cycle; a seventh argument made node-addon-api
// allocate the argument list on the heap and ask for it twice, and the
// offset as a BigInt argument cost a conversion: about 3 % of the cycle.
Napi::Value Map(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  KMMAP_EXPECT(info.Length() == 6 && info[0].IsNumber() &&
                   info[1].IsNumber() && info[2].IsNumber() &&
                   info[3].IsNumber() && info[4].IsNumber() &&
                   info[5].IsTypedArray(),
               "map(fd, length, prot, flags, ownedFd, io)");
  KMMAP_EXPECT(info[5].As<Napi::TypedArray>().TypedArrayType() ==
                       napi_biguint64_array &&
                   info[5].As<Napi::TypedArray>().ElementLength() >= 1,
               "io must be a BigUint64Array");
  auto io = info[5].As<Napi::BigUint64Array>();
  int fd = info[0].As<Napi::Number>().Int32Value();
  double length = info[1].As<Napi::Number>().DoubleValue();
  uint64_t offset_bits = io[0];
  KMMAP_EXPECT(offset_bits <= static_cast<uint64_t>(INT64_MAX),
               "offset must fit in off_t");
  auto offset = static_cast<int64_t>(offset_bits);
  KMMAP_EXPECT(length >= 1 && length <= 9007199254740991.0,
               "length must be a positive safe integer");
  int prot = info[2].As<Napi::Number>().Int32Value();
  int flags = info[3].As<Napi::Number>().Int32Value();
  int owned_fd = info[4].As<Napi::Number>().Int32Value();

  if (!TakeRange()) return TooMany(env, "address ranges", MapBudget());
  // lib/ rounds to whole pages (page.ts); an odd hugetlb option can still
  // hand over a length the kernel rounds itself: keep the books in pages.
  size_t size = RoundUpToPages(static_cast<size_t>(length));
  void* address = mmap(nullptr, size, prot, flags, fd, offset);
  if (address == MAP_FAILED) {
    int err = errno;
    GiveRange();
    return ThrowErrno(env, err, "mmap");
  }

  auto* mapping = new LiveMapping{nullptr, size, owned_fd, flags, offset,
                                  (flags & 0x03) != MAP_PRIVATE,
                                  false, true, nullptr};
  mapping->range = NewRange(env, static_cast<uint8_t*>(address), size, mapping);
  if (owned_fd >= 0) {
    g_owned_fds++;
    AdjustExternal(env, FdCost());
  }
  napi_value handle;
  if (napi_create_external(env, mapping, FinalizeHandle, nullptr, &handle) !=
      napi_ok) {
    // The fd stays the caller's to close: the call failed.
    mapping->owned_fd = -1;
    g_owned_fds -= owned_fd >= 0 ? 1 : 0;
    if (owned_fd >= 0) AdjustExternal(env, -FdCost());
    ReleaseRange(env, mapping->range);
    delete mapping;
    return ThrowCoded(env, "ERR_KMMAP_HANDLE",
                      "Could not make a mapping handle");
  }
  if (napi_type_tag_object(env, handle, &kHandleTag) != napi_ok) {
    // The handle's finalizer unmaps it; nothing else can reach it. The fd
    // stays the caller's to close: the call failed.
    mapping->owned_fd = -1;
    g_owned_fds -= owned_fd >= 0 ? 1 : 0;
    if (owned_fd >= 0) AdjustExternal(env, -FdCost());
    return ThrowCoded(env, "ERR_KMMAP_HANDLE",
                      "Could not make a mapping handle");
  }
  io[0] = reinterpret_cast<uintptr_t>(address);
  return Napi::Value(env, handle);
}

// view(handle, offset, length) -> ArrayBuffer over [base + offset, + length).
Napi::Value ViewOf(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  KMMAP_EXPECT(info.Length() == 3 && info[1].IsNumber() && info[2].IsNumber(),
               "view(handle, offset, length)");
  LiveMapping* mapping = LiveMappingOf(env, info[0]);
  KMMAP_EXPECT(mapping != nullptr, "view(handle, offset, length)");
  KMMAP_EXPECT(!mapping->closed, "the mapping is closed");
  double offset = info[1].As<Napi::Number>().DoubleValue();
  double length = info[2].As<Napi::Number>().DoubleValue();
  KMMAP_EXPECT(offset >= 0 && length >= 0 &&
                   offset + length <= static_cast<double>(mapping->length),
               "view outside the mapping");
  return NewView(env, mapping, static_cast<size_t>(offset),
                 static_cast<size_t>(length));
}

// unmap(handle) -> true if it closed, false if it was already closed.
// Detaches every view; unmaps at once if no view can still hold a pointer,
// else swaps in private anonymous memory until the last one is finished.
Napi::Value Unmap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  LiveMapping* mapping =
      info.Length() == 1 ? LiveMappingOf(env, info[0]) : nullptr;
  KMMAP_EXPECT(mapping != nullptr, "unmap(handle)");
  if (mapping->closed) return Napi::Boolean::New(env, false);
  if (DetachViews(env, mapping) > 0) return ViewInUse(env, "close()");
  Range* range = mapping->range;
  mapping->range = nullptr;
  mapping->closed = true;
  CloseOwnedFd(env, mapping);
  int err;
  const char* syscall;
  if (range->pending == 0) {
    syscall = "munmap";
    err = ReleaseRange(env, range);
  } else {
    // The tail past length, if any, already is a placeholder (resize()).
    syscall = "mmap";
    err = Placeholder(range->base, mapping->length);
    Retire(env, range);
  }
  if (err != 0) return ThrowErrno(env, err, syscall);
  return Napi::Boolean::New(env, true);
}

// Moves the pages of [base, + length) to a new address with room for
// `size` bytes, leaving a mapping at base for whoever still points there.
// Returns the new address, or MAP_FAILED with errno set.
void* MoveKeepingOld(LiveMapping* mapping, size_t size) {
  uint8_t* base = mapping->range->base;
  size_t length = mapping->length;
  if (mapping->shared) {
    // old_size 0: a second mapping of the same shared pages.
    return mremap(base, 0, size, MREMAP_MAYMOVE);
  }
  // Private pages cannot be shared: move them (Linux 5.7+) and leave the
  // old range mapped but empty.
  void* moved = mremap(base, length, length, MREMAP_MAYMOVE | MREMAP_DONTUNMAP);
  if (moved == MAP_FAILED) return MAP_FAILED;
  void* grown = mremap(moved, length, size, MREMAP_MAYMOVE);
  if (grown != MAP_FAILED) return grown;
  int err = errno;
  // Put the pages back where they were: nothing changed.
  mremap(moved, length, length, MREMAP_MAYMOVE | MREMAP_FIXED, base);
  errno = err;
  return MAP_FAILED;
}

// The protection of the VMA that holds all of [base, + length), from
// /proc/self/maps; -1 if no single VMA holds it (protect(), lock() or
// advise() on part of the mapping split it: mremap refuses that too).
int VmaProt(uint8_t* base, size_t length) {
  FILE* maps = fopen("/proc/self/maps", "re");
  if (maps == nullptr) return -1;
  uintptr_t first = reinterpret_cast<uintptr_t>(base);
  int prot = -1;
  char* line = nullptr;
  size_t capacity = 0;
  // getline, not a fixed buffer: a long path must not be read as a new line.
  while (getline(&line, &capacity, maps) > 0) {
    unsigned long start, end;
    char perms[5];
    if (sscanf(line, "%lx-%lx %4s", &start, &end, perms) != 3) continue;
    if (first < start || first >= end) continue;
    if (end - first >= length) {
      prot = (perms[0] == 'r' ? PROT_READ : 0) |
             (perms[1] == 'w' ? PROT_WRITE : 0) |
             (perms[2] == 'x' ? PROT_EXEC : 0);
    }
    break;
  }
  free(line);
  fclose(maps);
  return prot;
}

// Copies into `to` the pages of [from, + length) that exist only in this
// process's private memory: for a private file mapping those copied on
// write (the rest are the file's, and `to` maps the same file), for private
// anonymous memory every page present or swapped out (the rest read zeros
// in `to` too). Without /proc/self/pagemap, every page.
void CopyPrivatePages(const uint8_t* from, uint8_t* to, size_t length, bool file) {
  constexpr uint64_t kPresent = 1ULL << 63, kSwapped = 1ULL << 62,
                     kFilePage = 1ULL << 61;
  size_t page = PageSize();
  int pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  uint64_t entries[512];
  for (size_t done = 0; done < length;) {
    size_t count = (length - done) / page;
    if (count > 512) count = 512;
    off_t at = static_cast<off_t>(reinterpret_cast<uintptr_t>(from + done) / page * 8);
    ssize_t want = static_cast<ssize_t>(count * 8);
    bool known = pagemap >= 0 && pread(pagemap, entries, want, at) == want;
    for (size_t i = 0; i < count; i++) {
      uint64_t entry = known ? entries[i] : kPresent;
      bool own = (entry & (kPresent | kSwapped)) != 0 &&
                 !(file && (entry & kFilePage) != 0);
      if (own) memcpy(to + done + i * page, from + done + i * page, page);
    }
    done += count * page;
  }
  if (pagemap >= 0) close(pagemap);
}

// Maps the mapping's memory afresh at a new address with room for `size`
// bytes, for kernels that cannot map private pages a second time: anonymous
// memory, the owned memfd, or `fd` (the same file, opened again by lib/).
// Private pages the process changed are copied over; shared ones are the
// same pages through the file. Returns the new address, or MAP_FAILED with
// errno set; the old range is left as it was.
void* MapAgain(LiveMapping* mapping, size_t size, int fd) {
  uint8_t* base = mapping->range->base;
  size_t old = mapping->length;
  int prot = VmaProt(base, old);
  if (prot < 0) {
    errno = EFAULT;
    return MAP_FAILED;
  }
  int flags = mapping->map_flags & ~(MAP_FIXED | MAP_FIXED_NOREPLACE);
  bool anonymous = (flags & MAP_ANONYMOUS) != 0;
  int source = anonymous ? -1 : mapping->owned_fd >= 0 ? mapping->owned_fd : fd;
  if (!anonymous && source < 0) {
    errno = EINVAL;
    return MAP_FAILED;
  }
  if (mapping->shared) {
    return mmap(nullptr, size, prot, flags, source, mapping->map_offset);
  }
  // Private: writable while the pages are copied in (always allowed for
  // MAP_PRIVATE), then as the old range was.
  void* fresh = mmap(nullptr, size, prot | PROT_READ | PROT_WRITE, flags,
                     source, mapping->map_offset);
  if (fresh == MAP_FAILED) return MAP_FAILED;
  if ((prot & PROT_READ) == 0 && mprotect(base, old, prot | PROT_READ) != 0) {
    int err = errno;
    munmap(fresh, size);
    errno = err;
    return MAP_FAILED;
  }
  CopyPrivatePages(base, static_cast<uint8_t*>(fresh), old, !anonymous);
  if (prot != (prot | PROT_READ | PROT_WRITE) && mprotect(fresh, size, prot) != 0) {
    int err = errno;
    munmap(fresh, size);
    if ((prot & PROT_READ) == 0) mprotect(base, old, prot);
    errno = err;
    return MAP_FAILED;
  }
  return fresh;
}

// remap(handle, newLength, detachFirst, fd?) -> bigint new base. Like
// mremap(MREMAP_MAYMOVE): on success every old view is detached (the memory
// may have moved); on failure nothing changed. Whatever pointer a view gave
// out before stays on mapped memory: the old pages where they stay put, a
// placeholder where they do not. With detachFirst (a runtime that may leave
// a view attached: see DetachViews), the views are detached before anything
// else, so that one left attached stops the call while nothing changed; a
// failure after that leaves the views detached.
// Where the kernel cannot keep a file mapping's old pages mapped while it
// moves them, the file is mapped again: without `fd` the call then changes
// nothing and returns undefined, and lib/ calls again with the same file
// opened anew as `fd`, or with -1 when it cannot be (a device): then the
// range is moved and the hole filled at once (a pointer used in between
// meets unmapped memory; docs/api.md).
Napi::Value Remap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  KMMAP_EXPECT((info.Length() == 3 || info.Length() == 4) && info[1].IsNumber() &&
                   info[2].IsBoolean() && (info.Length() == 3 || info[3].IsNumber()),
               "remap(handle, newLength, detachFirst, fd?)");
  LiveMapping* mapping = LiveMappingOf(env, info[0]);
  KMMAP_EXPECT(mapping != nullptr, "remap(handle, newLength, detachFirst, fd?)");
  bool fd_given = info.Length() == 4;
  int again_fd = fd_given ? info[3].As<Napi::Number>().Int32Value() : -1;
  KMMAP_EXPECT(!mapping->closed, "the mapping is closed");
  double length = info[1].As<Napi::Number>().DoubleValue();
  KMMAP_EXPECT(length >= 1 && length <= 9007199254740991.0,
               "newLength must be a positive safe integer");
  if (info[2].As<Napi::Boolean>().Value() && DetachViews(env, mapping) > 0) {
    return ViewInUse(env, "resize()");
  }
  // lib/ rounds to whole pages (page.ts); an odd hugetlb option can still
  // hand over a length the kernel rounds itself: keep the books in pages.
  size_t size = RoundUpToPages(static_cast<size_t>(length));
  Range* range = mapping->range;
  uint8_t* base = range->base;
  size_t old = mapping->length;
  // Views not yet finished may hold pointers into the range: at least the
  // attached ones, and detached ones until their objects are collected.
  bool held = range->pending > 0;

  if (size < old) {
    // The tail: unmapped, or a placeholder while views may point there.
    int err = held ? Placeholder(base + size, old - size)
                   : (munmap(base + size, range->reserved - size) == 0 ? 0 : errno);
    if (err != 0) return ThrowErrno(env, err, held ? "mmap" : "munmap");
    if (!held) range->reserved = size;
    mapping->length = size;
  } else if (size > old) {
    void* moved = MAP_FAILED;
    int err = ENOMEM;
    if (range->reserved == old) {
      // In place first: every old pointer stays valid.
      moved = mremap(base, old, size, 0);
      if (moved == MAP_FAILED) err = errno;
    }
    if (moved == MAP_FAILED && err != ENOMEM) {
      return ThrowErrno(env, err, "mremap");
    }
    if (moved != MAP_FAILED) {
      range->reserved = size;
      mapping->length = size;
    } else if (!held) {
      if (range->reserved > old) {
        munmap(base + old, range->reserved - old);
        range->reserved = old;
      }
      moved = mremap(base, old, size, MREMAP_MAYMOVE);
      if (moved == MAP_FAILED) return ThrowErrno(env, errno, "mremap");
      range->base = static_cast<uint8_t*>(moved);
      range->reserved = size;
      mapping->length = size;
    } else {
      if (!TakeRange()) return TooMany(env, "address ranges", MapBudget());
      moved = MoveKeepingOld(mapping, size);
      int keep_err = 0;
      if (moved != MAP_FAILED) {
        keep_err = Placeholder(base, old);
      } else if (errno == EINVAL || errno == EFAULT) {
        // A kernel or mapping that cannot keep the old pages mapped (before
        // 5.7, file pages before 5.13, hugetlb, VM_PFNMAP devices).
        bool file = (mapping->map_flags & MAP_ANONYMOUS) == 0 &&
                    mapping->owned_fd < 0;
        if (file && !fd_given) {
          GiveRange();
          return env.Undefined();  // lib/ opens the file again
        }
        if (!file || again_fd >= 0) {
          // Map it afresh, then replace the old range atomically.
          moved = MapAgain(mapping, size, again_fd);
          if (moved != MAP_FAILED) keep_err = Placeholder(base, old);
        } else {
          // A device: move, then fill the hole at once. A pointer used in
          // between meets unmapped memory (README).
          moved = mremap(base, old, size, MREMAP_MAYMOVE);
          if (moved != MAP_FAILED) {
            keep_err = Placeholder(base, old, MAP_FIXED_NOREPLACE);
          }
        }
      }
      if (moved == MAP_FAILED) {
        int move_err = errno;
        GiveRange();
        return ThrowErrno(env, move_err, "mremap");
      }
      Range* fresh = NewRange(env, static_cast<uint8_t*>(moved), size, mapping);
      if (keep_err != 0) {
        // Someone else mapped the hole meanwhile: not ours to unmap.
        if (range->reserved > old) {
          range->base += old;
          range->reserved -= old;
        } else {
          range->reserved = 0;
        }
      }
      Retire(env, range);
      mapping->range = fresh;
      mapping->length = size;
      if (range->reserved == 0) {
        // Nothing left to reserve: forget it once its views are finished.
        range->base = nullptr;
      }
    }
  }
  // No JavaScript ran since the syscalls, so no view has touched the range.
  // A view the runtime leaves attached here stays tracked: on mapped memory,
  // and close() refuses until it detaches.
  DetachViews(env, mapping);
  if (mapping->range != range && range->pending == 0) Settle(env, range);
  return Napi::BigInt::New(env, static_cast<uint64_t>(reinterpret_cast<uintptr_t>(
                                    mapping->range->base)));
}

}  // namespace

bool CheckOwnedFdBudget(Napi::Env env) {
  // Owned memfds live until their mapping is collected: keep enough fds
  // free for the rest of the process while dropped ones await collection.
  size_t budget = FdBudget();
  if (g_owned_fds.load() < budget) return true;
  TooMany(env, "memfds", budget);
  return false;
}

size_t PageSize() {
  static const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return page;
}

size_t RoundUpToPages(size_t length) {
  return (length + PageSize() - 1) / PageSize() * PageSize();
}

LiveMapping* LiveMappingOf(Napi::Env env, Napi::Value value) {
  if (value.IsEmpty() || !value.IsExternal()) return nullptr;
  bool tagged = false;
  if (napi_check_object_type_tag(env, value, &kHandleTag, &tagged) != napi_ok ||
      !tagged) {
    return nullptr;
  }
  return value.As<Napi::External<LiveMapping>>().Data();
}

bool ReadMappingRange(const Napi::CallbackInfo& info, MappingRange* range) {
  Napi::Env env = info.Env();
  LiveMapping* mapping =
      info.Length() >= 3 ? LiveMappingOf(env, info[0]) : nullptr;
  const char* problem = nullptr;
  if (mapping == nullptr || !info[1].IsNumber() || !info[2].IsNumber()) {
    problem = "expected (handle, offset, length, ...)";
  } else if (mapping->closed) {
    problem = "the mapping is closed";
  } else {
    double offset = info[1].As<Napi::Number>().DoubleValue();
    double length = info[2].As<Napi::Number>().DoubleValue();
    if (!(offset >= 0 && length >= 1 &&
          offset + length <= static_cast<double>(mapping->length)) ||
        static_cast<size_t>(offset) % PageSize() != 0) {
      problem = "expected a page-aligned range inside the mapping";
    } else {
      *range = {mapping, mapping->range->base + static_cast<size_t>(offset),
                static_cast<size_t>(length)};
      return true;
    }
  }
  ThrowTypeError(env, problem);
  return false;
}

// batchReleases() -> whether finalizers' ranges are now munmapped in
// batches on a later turn (see "Releasing ranges in batches"). lib/ asks on
// Node only: the turn is a thread-safe function of Node's event loop, and
// Deno's and Bun's Node-API run finalizers and thread-safe functions on
// terms of their own (Deno may free a backing store from another thread),
// where ranges keep being munmapped one by one, at once.
Napi::Value BatchReleases(const Napi::CallbackInfo& info) {
  InitReleases(info.Env());
  return Napi::Boolean::New(info.Env(), t_releases.turn != nullptr);
}

void InitMapping(Napi::Env env, Napi::Object exports) {
  exports.Set("batchReleases",
              Napi::Function::New(env, BatchReleases, "batchReleases"));
  exports.Set("map", Napi::Function::New(env, Map, "map"));
  exports.Set("view", Napi::Function::New(env, ViewOf, "view"));
  exports.Set("unmap", Napi::Function::New(env, Unmap, "unmap"));
  exports.Set("remap", Napi::Function::New(env, Remap, "remap"));
  exports.Set("pageSize",
              Napi::Number::New(env, static_cast<double>(PageSize())));
}

}  // namespace kmmap
