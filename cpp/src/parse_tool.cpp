#include "parse_tool.hpp"

#include <cstdio>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "binance.hpp"
#include "supervisor.hpp"
#include "upbit.hpp"

namespace btcrec {

namespace {

std::vector<std::string> split(const std::string& text, char sep) {
    std::vector<std::string> out;
    std::stringstream in(text);
    std::string item;
    while (std::getline(in, item, sep)) out.push_back(item);
    return out;
}

std::unique_ptr<Parser> make_parser(const std::vector<std::string>& words) {
    if (words.size() == 4 && words[0] == "binance")
        return std::make_unique<binance::Parser>(words[1], words[2]);
    if (words.size() == 3 && words[0] == "upbit")
        return std::make_unique<upbit::Parser>(split(words[1], ','));
    throw std::invalid_argument("bad header");
}

}  // namespace

int parse_tool() {
    std::ios::sync_with_stdio(false);
    std::string header, frame, out;
    while (std::getline(std::cin, header)) {
        if (header.empty()) continue;
        std::vector<std::string> words = split(header, ' ');
        std::unique_ptr<Parser> parser;
        std::size_t size = 0;
        try {
            parser = make_parser(words);
            size = std::stoul(words.back());
        } catch (const std::exception& e) {
            std::cerr << "btcrec parse: bad header '" << header << "': " << e.what() << "\n";
            return 2;
        }
        frame.resize(size);
        if (!std::cin.read(frame.data(), static_cast<std::streamsize>(size))) {
            std::cerr << "btcrec parse: input ends inside a frame\n";
            return 2;
        }
        if (std::cin.peek() == '\n') std::cin.get();
        try {
            Parsed p = parser->parse(frame);
            if (p.kind == Kind::data) {
                out.clear();
                append_line(out, parser->streams()[p.stream], p);
                std::cout << "D " << out.size() << "\n" << out;
            } else {
                std::string detail = p.detail;
                for (char& c : detail)
                    if (c == '\n') c = ' ';
                std::cout << "N " << kind_name(p.kind) << " " << detail << "\n";
            }
        } catch (const ExchangeError& e) {
            std::string text = e.what();
            for (char& c : text)
                if (c == '\n') c = ' ';
            std::cout << "E " << text << "\n";
        }
    }
    std::cout.flush();
    return 0;
}

int continuity_tool(bool contiguous, std::size_t recent) {
    std::ios::sync_with_stdio(false);
    Continuity c(contiguous, recent);
    long long conn = 0, seq = 0;
    std::string out;
    while (std::cin >> conn >> seq) out += c.accept(seq, static_cast<int>(conn)) ? "W\n" : "D\n";
    if (!std::cin.eof()) {
        std::cerr << "btcrec continuity: expected '<conn> <seq>' lines\n";
        return 2;
    }
    std::cout << out << "duplicates " << c.duplicates << " missing " << c.missing << " anomalies "
              << c.anomalies << "\n";
    return 0;
}

}  // namespace btcrec
