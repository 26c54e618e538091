// `btcrec parse`: the exchange parsers alone, frames on stdin, results on stdout, so the
// tests check every real frame of shared/realframes against its expected line.
#pragma once

#include <cstddef>

namespace btcrec {

// Input, per frame: a header line, then exactly N bytes of frame (a '\n' after them is skipped):
//   binance <symbol> <depth_speed> <N>
//   upbit <CODE>[,<CODE>...] <N>
// Output, per frame, one of:
//   D <N>\n<the line's N bytes, ending with \n>
//   N <kind> <detail>\n          (a notice: reply, status, shutdown, unexpected, malformed)
//   E <message>\n                 (an error message from the exchange)
// Returns the exit status (2 for a broken input stream).
int parse_tool();

// `btcrec continuity contiguous|increasing [RECENT]`: the duplicate rule alone (Continuity), so
// the tests hold it to btclib's (btclib/recorder/continuity.py) decision for decision.
// Input: one message a line, "<conn> <seq>". Output: "W" (write) or "D" (a duplicate: dropped)
// a line, then "duplicates <n> missing <n> anomalies <n>". Returns the exit status.
int continuity_tool(bool contiguous, std::size_t recent);

}  // namespace btcrec
