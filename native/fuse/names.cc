#include "names.h"

#include <cstdint>

namespace tierfs {

bool isValidUtf8(const char* s) {
  const auto* p = reinterpret_cast<const uint8_t*>(s);
  while (*p) {
    const uint8_t b = *p;
    if (b < 0x80) {
      p++;
      continue;
    }
    // The length of the sequence and the range its second byte must fall in:
    // the narrower ranges are what exclude overlongs (E0, F0), surrogates (ED)
    // and code points above U+10FFFF (F4).
    int len;
    uint8_t lo = 0x80, hi = 0xBF;
    if (b >= 0xC2 && b <= 0xDF) {
      len = 2;
    } else if (b >= 0xE0 && b <= 0xEF) {
      len = 3;
      if (b == 0xE0) lo = 0xA0;
      if (b == 0xED) hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
      len = 4;
      if (b == 0xF0) lo = 0x90;
      if (b == 0xF4) hi = 0x8F;
    } else {
      return false;  // a continuation byte out of place, C0/C1 (always overlong), F5–FF
    }
    if (p[1] < lo || p[1] > hi) return false;  // also stops at the terminating NUL
    for (int k = 2; k < len; k++) {
      if (p[k] < 0x80 || p[k] > 0xBF) return false;
    }
    p += len;
  }
  return true;
}

}  // namespace tierfs
