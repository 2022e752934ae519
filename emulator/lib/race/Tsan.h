//===- Tsan.h - ThreadSanitizer annotations for the race runner -*- C++ -*-===//
//
// The few TSan annotations the race runner uses to say which of its own
// locks order kernel memory and which do not. Declared weak, so the runner
// also links (as a plain, unchecked thread emulator) without TSan.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_EMULATOR_RACE_TSAN_H
#define ATTN_EMULATOR_RACE_TSAN_H

extern "C" {
void AnnotateIgnoreSyncBegin(const char *file, int line) __attribute__((weak));
void AnnotateIgnoreSyncEnd(const char *file, int line) __attribute__((weak));
void AnnotateHappensBefore(const char *file, int line,
                           const volatile void *address) __attribute__((weak));
void AnnotateHappensAfter(const char *file, int line,
                          const volatile void *address) __attribute__((weak));
void AnnotateBenignRaceSized(const char *file, int line,
                             const volatile void *address, unsigned long size,
                             const char *description) __attribute__((weak));
void __tsan_read_range(void *address, unsigned long size) __attribute__((weak));
void *__tsan_create_fiber(unsigned flags) __attribute__((weak));
void __tsan_destroy_fiber(void *fiber) __attribute__((weak));
void *__tsan_get_current_fiber() __attribute__((weak));
void __tsan_switch_to_fiber(void *fiber, unsigned flags) __attribute__((weak));
void __tsan_set_fiber_name(void *fiber, const char *name) __attribute__((weak));
void __tsan_write_range(void *address, unsigned long size)
    __attribute__((weak));
}

namespace attn::emu::race::tsan {

/// Everything the calling thread does with locks while this lives creates no
/// happens-before edge.
class IgnoreSync {
public:
  IgnoreSync() {
    if (AnnotateIgnoreSyncBegin)
      AnnotateIgnoreSyncBegin(__FILE__, __LINE__);
  }
  ~IgnoreSync() {
    if (AnnotateIgnoreSyncEnd)
      AnnotateIgnoreSyncEnd(__FILE__, __LINE__);
  }
  IgnoreSync(const IgnoreSync &) = delete;
  IgnoreSync &operator=(const IgnoreSync &) = delete;
};

/// Makes synchronisation visible again inside an IgnoreSync.
class Visible {
public:
  Visible() {
    if (AnnotateIgnoreSyncEnd)
      AnnotateIgnoreSyncEnd(__FILE__, __LINE__);
  }
  ~Visible() {
    if (AnnotateIgnoreSyncBegin)
      AnnotateIgnoreSyncBegin(__FILE__, __LINE__);
  }
  Visible(const Visible &) = delete;
  Visible &operator=(const Visible &) = delete;
};

/// Release: what the caller did so far happens before a later `acquire` of
/// `object`.
inline void release(const void *object) {
  if (AnnotateHappensBefore)
    AnnotateHappensBefore(__FILE__, __LINE__, object);
}
/// Acquire: everything released to `object` happens before what follows.
inline void acquire(const void *object) {
  if (AnnotateHappensAfter)
    AnnotateHappensAfter(__FILE__, __LINE__, object);
}
/// Races on [address, address + bytes) are by design; TSan reports none.
inline void benignRace(const void *address, unsigned long bytes,
                       const char *why) {
  if (AnnotateBenignRaceSized)
    AnnotateBenignRaceSized(__FILE__, __LINE__, address, bytes, why);
}

/// Tells TSan the calling thread read [address, address + bytes) now (for
/// copies the runner makes on a kernel thread's behalf).
inline void read(const void *address, unsigned long bytes) {
  if (__tsan_read_range)
    __tsan_read_range(const_cast<void *>(address), bytes);
}
/// Tells TSan the calling thread wrote [address, address + bytes) now.
inline void write(void *address, unsigned long bytes) {
  if (__tsan_write_range)
    __tsan_write_range(address, bytes);
}

/// A TSan "thread" of its own for what the hardware does asynchronously
/// (TMA copies): accesses made while a Unit is entered are the unit's, not
/// the calling thread's, and are ordered only by the releases and acquires
/// made inside it. Without TSan, entering does nothing.
class AsyncUnit {
public:
  explicit AsyncUnit(const char *name) {
    if (__tsan_create_fiber) {
      fiber = __tsan_create_fiber(0);
      if (__tsan_set_fiber_name)
        __tsan_set_fiber_name(fiber, name);
    }
  }
  ~AsyncUnit() {
    if (fiber && __tsan_destroy_fiber)
      __tsan_destroy_fiber(fiber);
  }
  AsyncUnit(const AsyncUnit &) = delete;
  AsyncUnit &operator=(const AsyncUnit &) = delete;

  /// While this lives, the calling OS thread acts as the unit (one thread
  /// at a time: the caller holds a lock). No happens-before is implied
  /// either way; say what orders what with release and acquire.
  class Entered {
  public:
    explicit Entered(AsyncUnit &unit) {
      if (unit.fiber && __tsan_get_current_fiber && __tsan_switch_to_fiber) {
        caller = __tsan_get_current_fiber();
        __tsan_switch_to_fiber(unit.fiber, kNoSync);
      }
    }
    ~Entered() {
      if (caller)
        __tsan_switch_to_fiber(caller, kNoSync);
    }
    Entered(const Entered &) = delete;
    Entered &operator=(const Entered &) = delete;

  private:
    void *caller = nullptr;
  };

private:
  /// __tsan_switch_to_fiber_no_sync.
  static constexpr unsigned kNoSync = 1;
  void *fiber = nullptr;
};

} // namespace attn::emu::race::tsan

#endif // ATTN_EMULATOR_RACE_TSAN_H
