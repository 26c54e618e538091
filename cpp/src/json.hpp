// Just enough JSON to find where a value sits in a frame, so it can be copied unchanged.
//
// SPEC: numbers and arrays are written exactly as the exchange sent them, so the parsers never
// convert a number: they copy byte ranges of the received frame. The exchange parsers' fast
// paths find those ranges with plain searches on the documented compact layout; this scanner is
// the general fallback for any other layout. It validates a frame the way Python's json.loads
// does (btclib's general path starts there, and both programs must call the same frames
// malformed) and hands back each member's byte range.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace btcrec::json {

enum class Type { object, array, string, number, boolean, null };

// One value: its type and its bytes [begin, end) within the frame.
struct Value {
    Type type;
    std::size_t begin;
    std::size_t end;
};

// One member of an object: the key (escapes decoded) and its value.
struct Member {
    std::string key;
    Value value;
};

// The members of an object, in the order sent. find() answers as a JSON parser would for a
// duplicated key: the last one wins.
class Object {
public:
    Value value;  // the object itself
    std::vector<Member> members;
    const Value* find(std::string_view key) const;
    bool has(std::string_view key) const { return find(key) != nullptr; }
};

// Validate the whole frame (UTF-8, grammar, nothing after the value but whitespace) and return
// its top-level value, or nullopt with `why` set.
std::optional<Value> validate(std::string_view frame, std::string* why = nullptr);

// The frame's top-level object (btclib.feed.load_object): the parsers' general paths start
// here. nullopt when the frame is not valid JSON or not an object, with `why` saying which.
std::optional<Object> load_object(std::string_view frame, std::string& why);

// The members of the (already validated) object at `v`.
Object members(std::string_view frame, const Value& v);

// The decoded text of a string value (escapes resolved, \u as UTF-8).
std::string text(std::string_view frame, const Value& v);

// The raw bytes of a value.
inline std::string_view raw(std::string_view frame, const Value& v) {
    return frame.substr(v.begin, v.end - v.begin);
}

// Python's int() of a JSON value, as btclib's general path applies it to a sequence number:
// integers and integral text; floats truncated; true/false as 1/0; anything else: nullopt.
std::optional<std::int64_t> to_int(std::string_view frame, const Value& v);

// Python's int() of ASCII bytes: surrounding whitespace, a sign, digits with single
// underscores between them. The fast paths read sequence numbers with it.
std::optional<std::int64_t> py_int(std::string_view s);

// Python's str() of a JSON value, for error messages (None, True, False, text, raw JSON).
std::string py_str(std::string_view frame, const Value& v);

// A short, printable piece of a frame for logs and error messages (btclib.feed.excerpt).
std::string excerpt(std::string_view frame, std::size_t limit = 120);

}  // namespace btcrec::json
