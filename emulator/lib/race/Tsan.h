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

} // namespace attn::emu::race::tsan

#endif // ATTN_EMULATOR_RACE_TSAN_H
