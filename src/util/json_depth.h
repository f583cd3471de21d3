// A bound on JSON nesting, checked on the raw text before it is parsed.
//
// nlohmann::ordered_json keeps an object's entries in a std::vector of pairs with a const
// key, so when that vector grows the entries are copied, and copying a value copies its
// children recursively. A header of ~100000 nested brackets followed by one more key
// (a 200 KB file) therefore overflows the stack while parsing, before any check could
// refuse it. Readers of untrusted JSON headers refuse such text first.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace dp {

// The deepest nesting of arrays and objects in JSON text; brackets inside strings do not
// count. Never less than the nesting a JSON parser reaches on any prefix of the text.
inline std::size_t json_nesting_depth(const std::uint8_t* text, std::size_t nbytes) {
  std::size_t depth = 0, max_depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < nbytes; ++i) {
    const std::uint8_t c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;  // skip the escaped character
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      max_depth = std::max(max_depth, ++depth);
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return max_depth;
}

}  // namespace dp
