#include "parsed.hpp"

namespace btcrec {

const char* kind_name(Kind kind) {
    switch (kind) {
        case Kind::data: return "data";
        case Kind::reply: return "reply";
        case Kind::status: return "status";
        case Kind::shutdown: return "shutdown";
        case Kind::unexpected: return "unexpected";
        case Kind::malformed: return "malformed";
    }
    return "?";
}

}  // namespace btcrec
