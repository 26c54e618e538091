// Small text helpers the command line and both exchanges' name checks share.
#pragma once

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

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

// Seconds as Python's "%g" spells them ("45", "0.5"): the words of btclib's messages.
inline std::string seconds(double s) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", s);
    return buf;
}

// `text` with each placeholder replaced ("{symbol}" -> "btcusdt"): the contract's hints.
inline std::string fill(std::string_view text,
                        const std::vector<std::pair<std::string, std::string>>& values) {
    std::string out(text);
    for (const auto& [placeholder, value] : values)
        for (auto at = out.find(placeholder); at != std::string::npos; at = out.find(placeholder, at + value.size()))
            out.replace(at, placeholder.size(), value);
    return out;
}

}  // namespace btcrec
