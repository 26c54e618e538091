#include "json.hpp"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace btcrec::json {

namespace {

bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// A recursive-descent validator over the frame's bytes.
class Scanner {
public:
    explicit Scanner(std::string_view s) : s_(s) {}

    std::optional<Value> top(std::string* why) {
        if (!utf8_ok()) return fail(why, "invalid UTF-8");
        skip_ws();
        auto v = value(0);
        if (!v) return fail(why, error_);
        skip_ws();
        if (i_ != s_.size()) return fail(why, "extra data after the value");
        return v;
    }

private:
    std::string_view s_;
    std::size_t i_ = 0;
    const char* error_ = "invalid JSON";

    static std::optional<Value> fail(std::string* why, const char* text) {
        if (why) *why = text;
        return std::nullopt;
    }

    void skip_ws() {
        while (i_ < s_.size() && is_ws(s_[i_])) ++i_;
    }

    bool literal(std::string_view word) {
        if (s_.substr(i_, word.size()) != word) return false;
        i_ += word.size();
        return true;
    }

    // Python's decoder accepts encoded surrogates (it decodes with 'surrogatepass').
    bool utf8_ok() const {
        const auto* p = reinterpret_cast<const unsigned char*>(s_.data());
        std::size_t n = s_.size(), i = 0;
        while (i < n) {
            unsigned c = p[i];
            if (c < 0x80) { ++i; continue; }
            std::size_t len;
            unsigned min;
            if ((c & 0xE0) == 0xC0) { len = 2; min = 0x80; c &= 0x1F; }
            else if ((c & 0xF0) == 0xE0) { len = 3; min = 0x800; c &= 0x0F; }
            else if ((c & 0xF8) == 0xF0) { len = 4; min = 0x10000; c &= 0x07; }
            else return false;
            if (i + len > n) return false;
            for (std::size_t k = 1; k < len; ++k) {
                if ((p[i + k] & 0xC0) != 0x80) return false;
                c = (c << 6) | (p[i + k] & 0x3F);
            }
            if (c < min || c > 0x10FFFF) return false;
            i += len;
        }
        return true;
    }

    std::optional<Value> value(int depth) {
        if (depth > 5000) { error_ = "nested too deeply"; return std::nullopt; }
        if (i_ >= s_.size()) { error_ = "expecting value"; return std::nullopt; }
        std::size_t begin = i_;
        char c = s_[i_];
        Type type;
        bool ok;
        switch (c) {
            case '{': type = Type::object; ok = object(depth); break;
            case '[': type = Type::array; ok = array(depth); break;
            case '"': type = Type::string; ok = string(); break;
            case 't': type = Type::boolean; ok = literal("true"); break;
            case 'f': type = Type::boolean; ok = literal("false"); break;
            case 'n': type = Type::null; ok = literal("null"); break;
            case 'N': type = Type::number; ok = literal("NaN"); break;       // Python accepts
            case 'I': type = Type::number; ok = literal("Infinity"); break;  // these three
            default: type = Type::number; ok = number(); break;
        }
        if (!ok) {
            if (error_ == std::string_view("invalid JSON")) error_ = "expecting value";
            return std::nullopt;
        }
        return Value{type, begin, i_};
    }

    bool object(int depth) {
        ++i_;
        skip_ws();
        if (i_ < s_.size() && s_[i_] == '}') { ++i_; return true; }
        while (true) {
            if (i_ >= s_.size() || s_[i_] != '"') { error_ = "expecting property name"; return false; }
            if (!string()) return false;
            skip_ws();
            if (i_ >= s_.size() || s_[i_] != ':') { error_ = "expecting ':'"; return false; }
            ++i_;
            skip_ws();
            if (!value(depth + 1)) return false;
            skip_ws();
            if (i_ < s_.size() && s_[i_] == ',') { ++i_; skip_ws(); continue; }
            if (i_ < s_.size() && s_[i_] == '}') { ++i_; return true; }
            error_ = "expecting ',' or '}'";
            return false;
        }
    }

    bool array(int depth) {
        ++i_;
        skip_ws();
        if (i_ < s_.size() && s_[i_] == ']') { ++i_; return true; }
        while (true) {
            if (!value(depth + 1)) return false;
            skip_ws();
            if (i_ < s_.size() && s_[i_] == ',') { ++i_; skip_ws(); continue; }
            if (i_ < s_.size() && s_[i_] == ']') { ++i_; return true; }
            error_ = "expecting ',' or ']'";
            return false;
        }
    }

    bool string() {
        ++i_;
        while (i_ < s_.size()) {
            unsigned char c = static_cast<unsigned char>(s_[i_]);
            if (c == '"') { ++i_; return true; }
            if (c < 0x20) { error_ = "invalid control character"; return false; }
            if (c == '\\') {
                if (++i_ >= s_.size()) break;
                char e = s_[i_];
                if (e == 'u') {
                    for (int k = 1; k <= 4; ++k) {
                        if (i_ + k >= s_.size() || !std::isxdigit(static_cast<unsigned char>(s_[i_ + k]))) {
                            error_ = "invalid \\uXXXX escape";
                            return false;
                        }
                    }
                    i_ += 4;
                } else if (std::string_view("\"\\/bfnrt").find(e) == std::string_view::npos) {
                    error_ = "invalid \\escape";
                    return false;
                }
            }
            ++i_;
        }
        error_ = "unterminated string";
        return false;
    }

    bool digits() {
        std::size_t start = i_;
        while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
        return i_ > start;
    }

    bool number() {
        if (i_ < s_.size() && s_[i_] == '-') {
            ++i_;
            if (literal("Infinity")) return true;
        }
        if (i_ >= s_.size()) return false;
        if (s_[i_] == '0') ++i_;
        else if (!digits()) return false;
        std::size_t mark = i_;
        if (i_ < s_.size() && s_[i_] == '.') {
            ++i_;
            if (!digits()) { i_ = mark; return true; }  // "1." is 1 then junk: the caller fails
        }
        mark = i_;
        if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
            ++i_;
            if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
            if (!digits()) { i_ = mark; return true; }
        }
        return true;
    }
};

void put_utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) out += static_cast<char>(cp);
    else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

std::size_t skip_value(std::string_view s, std::size_t i);

std::size_t skip_string(std::string_view s, std::size_t i) {
    for (++i; s[i] != '"'; ++i)
        if (s[i] == '\\') ++i;
    return i + 1;
}

std::size_t skip_ws_at(std::string_view s, std::size_t i) {
    while (i < s.size() && is_ws(s[i])) ++i;
    return i;
}

// The frame is valid: only the extent of each value is needed.
std::size_t skip_value(std::string_view s, std::size_t i) {
    char c = s[i];
    if (c == '"') return skip_string(s, i);
    if (c == '{' || c == '[') {
        int depth = 0;
        while (true) {
            c = s[i];
            if (c == '"') { i = skip_string(s, i); continue; }
            if (c == '{' || c == '[') ++depth;
            else if ((c == '}' || c == ']') && --depth == 0) return i + 1;
            ++i;
        }
    }
    while (i < s.size() && !is_ws(s[i]) && s[i] != ',' && s[i] != '}' && s[i] != ']') ++i;
    return i;
}

Type type_at(char c) {
    switch (c) {
        case '{': return Type::object;
        case '[': return Type::array;
        case '"': return Type::string;
        case 't': case 'f': return Type::boolean;
        case 'n': return Type::null;
        default: return Type::number;
    }
}

}  // namespace

const Value* Object::find(std::string_view key) const {
    for (auto it = members.rbegin(); it != members.rend(); ++it)
        if (it->key == key) return &it->value;
    return nullptr;
}

std::optional<Value> validate(std::string_view frame, std::string* why) {
    return Scanner(frame).top(why);
}

std::optional<Object> load_object(std::string_view frame, std::string& why) {
    std::string error;
    auto top = validate(frame, &error);
    if (!top) {
        why = "not valid JSON (" + error + "): " + excerpt(frame);
        return std::nullopt;
    }
    if (top->type != Type::object) {
        why = "not a JSON object: " + excerpt(frame);
        return std::nullopt;
    }
    return members(frame, *top);
}

Object members(std::string_view s, const Value& v) {
    Object out;
    out.value = v;
    std::size_t i = skip_ws_at(s, v.begin + 1);
    if (s[i] == '}') return out;
    while (true) {
        std::size_t key_end = skip_string(s, i);
        std::string key = text(s, Value{Type::string, i, key_end});
        i = skip_ws_at(s, skip_ws_at(s, key_end) + 1);  // past ':'
        std::size_t end = skip_value(s, i);
        out.members.push_back({std::move(key), Value{type_at(s[i]), i, end}});
        i = skip_ws_at(s, end);
        if (s[i] == '}') return out;
        i = skip_ws_at(s, i + 1);  // past ','
    }
}

std::string text(std::string_view s, const Value& v) {
    std::string out;
    for (std::size_t i = v.begin + 1; i + 1 < v.end; ++i) {
        char c = s[i];
        if (c != '\\') { out += c; continue; }
        char e = s[++i];
        switch (e) {
            case 'b': out += '\b'; break;
            case 'f': out += '\f'; break;
            case 'n': out += '\n'; break;
            case 'r': out += '\r'; break;
            case 't': out += '\t'; break;
            case 'u': {
                unsigned cp = std::stoul(std::string(s.substr(i + 1, 4)), nullptr, 16);
                i += 4;
                if (cp >= 0xD800 && cp < 0xDC00 && s.substr(i + 1, 2) == "\\u") {
                    unsigned lo = std::stoul(std::string(s.substr(i + 3, 4)), nullptr, 16);
                    if (lo >= 0xDC00 && lo < 0xE000) {
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                        i += 6;
                    }
                }
                put_utf8(out, cp);
                break;
            }
            default: out += e; break;
        }
    }
    return out;
}

std::optional<std::int64_t> py_int(std::string_view s) {
    auto space = [](char c) { return c == ' ' || (c >= '\t' && c <= '\r'); };
    while (!s.empty() && space(s.front())) s.remove_prefix(1);
    while (!s.empty() && space(s.back())) s.remove_suffix(1);
    bool negative = false;
    if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
        negative = s.front() == '-';
        s.remove_prefix(1);
    }
    if (s.empty()) return std::nullopt;
    std::int64_t n = 0;
    bool digit_before = false;
    for (char c : s) {
        if (c == '_' && digit_before) { digit_before = false; continue; }
        if (c < '0' || c > '9') return std::nullopt;
        n = n * 10 + (c - '0');
        digit_before = true;
    }
    if (!digit_before) return std::nullopt;  // ends with '_'
    return negative ? -n : n;
}

std::optional<std::int64_t> to_int(std::string_view s, const Value& v) {
    std::string_view bytes = raw(s, v);
    switch (v.type) {
        case Type::boolean: return bytes == "true" ? 1 : 0;
        case Type::string: return py_int(text(s, v));
        case Type::number: {
            if (auto n = py_int(bytes)) return n;
            double d = std::strtod(std::string(bytes).c_str(), nullptr);
            if (!std::isfinite(d)) return std::nullopt;
            return static_cast<std::int64_t>(d);
        }
        default: return std::nullopt;
    }
}

std::string py_str(std::string_view s, const Value& v) {
    std::string_view bytes = raw(s, v);
    if (v.type == Type::string) return text(s, v);
    if (v.type == Type::null) return "None";
    if (bytes == "true") return "True";
    if (bytes == "false") return "False";
    return std::string(bytes);
}

std::string excerpt(std::string_view frame, std::size_t limit) {
    std::string out;
    std::string_view head = frame.substr(0, limit);
    for (unsigned char c : head) {
        if (c == '\\') out += "\\\\";
        else if (c == '\n') out += "\\n";
        else if (c == '\r') out += "\\r";
        else if (c == '\t') out += "\\t";
        else if (c < 0x20 || c == 0x7F) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        } else out += static_cast<char>(c);
    }
    if (frame.size() > limit) out += "...";
    return out;
}

}  // namespace btcrec::json
