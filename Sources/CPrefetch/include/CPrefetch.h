#ifndef CPREFETCH_H
#define CPREFETCH_H
/// Asks the CPU to start loading the cache line at `address` (Swift has no prefetch of its own).
static inline void prefetch_read(const void *address) { __builtin_prefetch(address, 0, 3); }
#endif
