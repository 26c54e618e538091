// Small text helpers the command line and both exchanges' name checks share.
#pragma once

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>

namespace btcrec {

// Without leading and trailing ASCII whitespace (Python's str.strip() on names).
inline std::string trim(std::string_view s) {
    constexpr std::string_view space = " \t\r\n\v\f";
    auto first = s.find_first_not_of(space);
    if (first == std::string_view::npos) return {};
    return std::string(s.substr(first, s.find_last_not_of(space) + 1 - first));
}

inline std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

inline std::string upper(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
    return s;
}

}  // namespace btcrec
