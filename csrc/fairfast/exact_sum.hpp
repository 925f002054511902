// Exact summation of doubles: a fixed-point accumulator wide enough for every finite
// double (a "long accumulator", Kulisch 2013), whose value is read back correctly
// rounded to the nearest double (ties to even). Adding and subtracting are exact, so a
// sum does not depend on the order of its terms.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

namespace fairfast {

class ExactSum {
 public:
  // Bit 0 weighs 2**-1074 (the smallest subnormal); a finite double's bits lie below
  // bit 2098 and two's complement leaves over 70 bits of headroom for carries.
  static constexpr int limbs = 34;

  void add(double x) { apply(x, false); }
  void subtract(double x) { apply(x, true); }

  // The sum, correctly rounded (overflow gives +-inf).
  double value() const {
    std::uint64_t mag[limbs];
    const bool negative = (limb_[limbs - 1] >> 63) != 0;
    std::memcpy(mag, limb_, sizeof(mag));
    if (negative) {  // two's complement negation
      std::uint64_t carry = 1;
      for (int q = 0; q < limbs; ++q) {
        mag[q] = ~mag[q] + carry;
        carry = (carry && mag[q] == 0) ? 1 : 0;
      }
    }
    int top = limbs - 1;
    while (top >= 0 && mag[top] == 0) --top;
    if (top < 0) return 0.0;
    const int lead = top * 64 + 63 - __builtin_clzll(mag[top]);  // position of the leading bit
    double r;
    if (lead < 53) {  // fewer than 54 bits, all at or above 2**-1074: exactly representable
      r = std::ldexp(static_cast<double>(mag[0]), -1074);
    } else {
      const int lo = lead - 63;  // a 64-bit window [lo, lead]
      const std::uint64_t window = bits_at(mag, lo);
      bool sticky = below(mag, lo);
      std::uint64_t mant = window >> 11;  // 53 bits
      const bool round_bit = (window >> 10) & 1;
      sticky = sticky || (window & 0x3FF) != 0;
      int exponent = lead - 52 - 1074;
      if (round_bit && (sticky || (mant & 1))) {
        ++mant;
        if (mant >> 53) {
          mant >>= 1;
          ++exponent;
        }
      }
      r = std::ldexp(static_cast<double>(mant), exponent);  // exact: a normal double (or inf)
    }
    return negative ? -r : r;
  }

 private:
  void apply(double x, bool minus) {
    std::uint64_t bits;
    std::memcpy(&bits, &x, sizeof(bits));
    const int field = static_cast<int>((bits >> 52) & 0x7FF);
    std::uint64_t mant = bits & ((std::uint64_t(1) << 52) - 1);
    if (field == 0 && mant == 0) return;
    if (field != 0) mant |= std::uint64_t(1) << 52;
    const int pos = field == 0 ? 0 : field - 1;  // x = mant * 2**(pos - 1074)
    if ((bits >> 63) != 0) minus = !minus;
    const int at = pos / 64, shift = pos % 64;
    const std::uint64_t lo = mant << shift;
    const std::uint64_t hi = shift ? mant >> (64 - shift) : 0;
    if (!minus) {
      std::uint64_t before = limb_[at];
      limb_[at] += lo;
      std::uint64_t carry = limb_[at] < before;
      before = limb_[at + 1];
      limb_[at + 1] += hi + carry;
      carry = (limb_[at + 1] < before) || (carry && limb_[at + 1] == before);
      for (int q = at + 2; carry && q < limbs; ++q) carry = ++limb_[q] == 0;
    } else {
      std::uint64_t borrow = limb_[at] < lo;
      limb_[at] -= lo;
      const std::uint64_t sub = hi + borrow;  // hi < 2**53: no overflow
      borrow = limb_[at + 1] < sub;
      limb_[at + 1] -= sub;
      for (int q = at + 2; borrow && q < limbs; ++q) borrow = limb_[q]-- == 0;
    }
  }

  // The 64 bits [lo, lo + 63] of a magnitude (bits below 0 read as 0).
  static std::uint64_t bits_at(const std::uint64_t* mag, int lo) {
    if (lo < 0) return mag[0] << (-lo);
    const int at = lo / 64, shift = lo % 64;
    const std::uint64_t first = mag[at] >> shift;
    const std::uint64_t second = (shift && at + 1 < limbs) ? mag[at + 1] << (64 - shift) : 0;
    return first | second;
  }
  // Any bit set below position lo?
  static bool below(const std::uint64_t* mag, int lo) {
    if (lo <= 0) return false;
    const int at = lo / 64, shift = lo % 64;
    for (int q = 0; q < at; ++q)
      if (mag[q]) return true;
    return shift && (mag[at] & ((std::uint64_t(1) << shift) - 1)) != 0;
  }

  std::uint64_t limb_[limbs] = {};
};

}  // namespace fairfast
