// Counter-based random numbers: the value drawn for row i depends only on
// (seed, stream, i), never on how many draws came before. This is what makes
// chunked and multi-threaded transforms identical to one call.
#pragma once

#include <cstdint>

namespace fairfast {

inline std::uint64_t mix64(std::uint64_t z) {
  // SplitMix64 finaliser (Steele, Lea and Flood 2014).
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// SplitMix64 evaluated directly at position `counter` of the sequence whose state
// starts at mix64(mix64(seed) ^ stream constant): draw i is mix64(start + (i+1)*gamma).
class CounterRng {
 public:
  static constexpr std::uint64_t gamma = 0x9E3779B97F4A7C15ULL;

  CounterRng(std::uint64_t seed, std::uint64_t stream)
      : start_(mix64(mix64(seed) ^ (stream * 0xD1B54A32D192ED03ULL + 0x632BE59BD9B4E019ULL))) {}

  std::uint64_t bits(std::uint64_t counter) const { return mix64(start_ + (counter + 1) * gamma); }

  // Uniform on [0, 1) with 53 random bits.
  double uniform(std::uint64_t counter) const {
    return static_cast<double>(bits(counter) >> 11) * 0x1.0p-53;
  }

 private:
  std::uint64_t start_;
};

// Stream numbers used by the library, fixed forever so that results are reproducible
// across releases (documented in fairfast/transport/_random.py).
enum : std::uint64_t { stream_ties = 0, stream_jitter = 1, stream_randomized_cdf = 2 };

}  // namespace fairfast
