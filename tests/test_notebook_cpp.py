"""Step E's helpers in btclib.notebook: build btcrec, record with it, show its C++ source.

The recording tests run the real btcrec (``make cpp``) against btclib's simulator and are
skipped where it is not built; the build-failure tests run a real CMake on a broken project
(skipped without cmake and g++).
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from btclib import notebook
from btclib.tools.btcrec import BINARY, explain_build

needs_btcrec = pytest.mark.skipif(
    not BINARY.is_file(), reason="cpp/build/btcrec is not built (make cpp)"
)
needs_toolchain = pytest.mark.skipif(
    not (shutil.which("cmake") and shutil.which("g++")), reason="needs cmake and g++"
)

SOURCE = """\
#include "a.hpp"

namespace demo {

bool digit(char c) { return c >= '0' && c <= '9'; }

// Reads one "{" frame.
// Two comment lines stay with it.
int Parser::parse(std::string_view f) const {
    if (f == "}") return 1;
    return 0;
}

int Parser::other(int x) {
    return x;
}

}  // namespace demo
"""


# -- cpp_listing --------------------------------------------------------------------------------


def test_cpp_listing_takes_one_function_with_its_comment_to_its_closing_brace(
    tmp_path: Path,
) -> None:
    (tmp_path / "a.cpp").write_text(SOURCE)
    shown = notebook.cpp_listing("a.cpp:Parser::parse", folder=tmp_path)
    assert str(shown).splitlines() == [
        f"// Parser::parse  ({tmp_path.as_posix()}/a.cpp, line 7)",
        '// Reads one "{" frame.',
        "// Two comment lines stay with it.",
        "int Parser::parse(std::string_view f) const {",
        '    if (f == "}") return 1;',
        "    return 0;",
        "}",
    ]


def test_cpp_listing_takes_a_one_line_function_and_whole_files(tmp_path: Path) -> None:
    (tmp_path / "a.cpp").write_text(SOURCE)
    one = str(notebook.cpp_listing("a.cpp:digit", folder=tmp_path)).splitlines()
    assert one[1:] == ["bool digit(char c) { return c >= '0' && c <= '9'; }"]
    whole = str(notebook.cpp_listing("a.cpp", folder=tmp_path))
    assert whole.startswith(f"// {tmp_path.as_posix()}/a.cpp (18 lines)\n#include")
    assert whole.rstrip().endswith("}  // namespace demo")


def test_cpp_listing_refuses_a_function_that_is_not_defined_there(tmp_path: Path) -> None:
    (tmp_path / "a.cpp").write_text(SOURCE)
    with pytest.raises(ValueError, match="no definition of Parser::missing"):
        notebook.cpp_listing("a.cpp:Parser::missing", folder=tmp_path)
    with pytest.raises(ValueError, match="nothing to show"):
        notebook.cpp_listing()


def test_cpp_listing_is_highlighted_cpp_in_html_and_latex(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BTCLIB_EXPORT", "1")  # the report's kernels compute the LaTeX form
    (tmp_path / "a.cpp").write_text(SOURCE)
    shown = notebook.cpp_listing("a.cpp:Parser::other", folder=tmp_path)
    data, meta = shown._repr_mimebundle_()
    assert meta == {"btclib": {"listing": True}}
    assert "max-height" in data["text/html"]  # a bounded box that scrolls in JupyterLab
    assert '<span style="color: #008000; font-weight: bold">return</span>' in data["text/html"]
    assert r"\PY{k}{return}" in data["text/latex"]  # C++ keywords, as the C++ lexer marks them
    assert data["text/plain"] == str(shown)


def test_cpp_listing_finds_the_parsers_and_the_hot_loop_in_btcrec_sources() -> None:
    shown = str(
        notebook.cpp_listing(
            "binance.cpp:Parser::parse",
            "upbit.cpp:Parser::parse",
            "feed_runner.cpp:FeedRunner::pump",
        )
    )
    assert "// Parser::parse  (cpp/src/binance.cpp, line " in shown
    assert "if (kind == 't' && fast_trade(f, out)) return out;" in shown
    assert "// Parser::parse  (cpp/src/upbit.cpp, line " in shown
    assert "append_line(batch, streams[p.stream], p);" in shown


# -- build_cpp ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("output", "meaning"),
    [
        ("CMake Error: Could NOT find Boost (missing: Boost_INCLUDE_DIR)", "install libboost-dev"),
        ("Could NOT find OpenSSL, try to set the path", "install libssl-dev"),
        ("No CMAKE_CXX_COMPILER could be found.", "there is no C++ compiler"),
        ("src/x.cpp:12:5: error: 'foo' was not declared", "the compiler stopped at src/x.cpp:12:5"),
        ("sudo: a password is required", "needs administrator rights"),
        ("something else entirely", "failed (exit status 2)"),
    ],
)
def test_a_failed_build_is_explained_in_plain_words(output: str, meaning: str) -> None:
    assert meaning in explain_build(f"[ 10%] Building\n{output}\nmake: *** Error", 2)


def test_build_without_the_sources_says_where_they_should_be(tmp_path: Path) -> None:
    with pytest.raises(notebook.BuildError, match="its sources are not here"):
        notebook.build_cpp(tmp_path)


@needs_toolchain
def test_build_of_broken_source_names_the_file_and_line(tmp_path: Path) -> None:
    src = tmp_path / "cpp" / "src"
    src.mkdir(parents=True)
    (tmp_path / "cpp" / "CMakeLists.txt").write_text(
        "cmake_minimum_required(VERSION 3.16)\nproject(btcrec LANGUAGES CXX)\n"
        "add_executable(btcrec src/main.cpp)\n"
    )
    (src / "main.cpp").write_text("int main() {\n    return missing;\n}\n")
    with pytest.raises(notebook.BuildError) as failed:
        notebook.build_cpp(tmp_path)
    first = str(failed.value).splitlines()[0]
    assert first.startswith("btcrec could not be built: the compiler stopped at ")
    assert "main.cpp:2:" in first and "missing" in first


@needs_btcrec
def test_build_of_this_repository_gives_the_binary() -> None:
    built = notebook.build_cpp()
    assert built.binary == notebook.cpp_binary() == BINARY
    assert repr(built).startswith(f"btcrec is built: {BINARY}")


# -- record_cpp ---------------------------------------------------------------------------------


@needs_btcrec
async def test_record_cpp_from_the_simulator_is_announced_and_writes_whole_lines(
    tmp_path: Path,
) -> None:
    said: list[str] = []
    out = tmp_path / "multi.txt"
    run = await notebook.record_cpp(
        "both", duration=1.5, source="sim", out=out, depth_speed="100ms", announce=said.append
    )
    assert run.ok and run.exit_code == 0 and run.stopped == "duration reached"
    assert run.sources == {"binance": "simulator", "upbit": "simulator"}
    assert run.reasons == {x: "source 'sim' was chosen" for x in ("binance", "upbit")}
    # One box naming both exchanges and the shared reason (not one identical box each).
    assert said[0].splitlines()[1:3] == [
        "!! SIMULATED DATA: BINANCE AND UPBIT ARE NOT LIVE.                          !!",
        "!! Why: source 'sim' was chosen                                             !!",
    ]
    assert said[1].startswith("$ btcrec record both --duration 1.5 --out ")
    assert "--depth-speed 100ms" in said[1] and "--summary-json" not in said[1]
    data = out.read_bytes()
    lines = data.splitlines()
    assert data.endswith(b"\n") and len(lines) == run.total > 0
    assert {line.split(b",", 1)[0] for line in lines} == {
        b"btcusdt@orderbook",
        b"btcusdt@trade",
        b"btckrw@orderbook",
    }
    assert sum(run.lines.values()) == run.total and run.connections == 2
    text = run.text().splitlines()
    assert text[1:3] == [
        "  source binance: simulator (source 'sim' was chosen)",
        "  source upbit: simulator (source 'sim' was chosen)",
    ]
    assert f"the binance and upbit lines in {out} come from btclib's local exchange" in (
        notebook.notice(run)
    )
    assert "SIMULATED DATA" in repr(notebook.tail_view(out, 10, summary=run))


@needs_btcrec
async def test_record_cpp_cancelled_interrupts_btcrec_and_leaves_whole_lines(
    tmp_path: Path,
) -> None:
    out = tmp_path / "binance.txt"
    task = asyncio.create_task(
        notebook.record_cpp("binance", duration=60, source="sim", out=out, announce=lambda _: None)
    )
    while not (out.exists() and out.stat().st_size > 0):  # the file grows without events
        assert not task.done(), task
        await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 20)  # well under the 60 s asked: btcrec was interrupted
    data = out.read_bytes()
    assert data.endswith(b"\n")
    assert all(line.startswith(b"btcusdt@") for line in data.splitlines())


async def test_record_cpp_without_the_binary_says_how_to_build_it(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="make cpp"):
        await notebook.record_cpp("both", duration=1, binary=tmp_path / "btcrec")


async def test_record_cpp_refuses_an_unknown_step() -> None:
    with pytest.raises(ValueError, match="unknown step 'all'"):
        await notebook.record_cpp("all", duration=1)


def test_a_build_streams_its_output_lines_as_they_come(tmp_path: Path) -> None:
    from btclib.tools import btcrec

    seen: list[str] = []
    code, text = btcrec._run_build(
        ["sh", "-c", "echo '[ 50%] Building CXX object a.o'; echo oops >&2; exit 3"],
        tmp_path, 30, seen.append,
    )  # fmt: skip
    assert code == 3 and seen == ["[ 50%] Building CXX object a.o", "oops"]
    assert text == "[ 50%] Building CXX object a.o\noops\n"
    code, _ = btcrec._run_build(["sh", "-c", "sleep 5"], tmp_path, 0.5, None)
    assert code is None  # past its time limit: stopped, said as a timeout by build()
