"""Drives fmr's MCP server with the official Python MCP SDK (a client written by others).

Usage: python3 mcp_client.py SERVER_BINARY REPO_ROOT

Starts the server over stdio with REPO_ROOT as its working directory, then:
initializes, lists the tools, investigates the shipped examples/fp16-nan case
(logs, code and symptom text) and checks the report, sends malformed arguments
and checks each comes back as an MCP tool error (isError) with a clear message,
and checks the server still answers afterwards. The SDK validates every
structured result against the tool's output schema. Exits non-zero on the
first failed check, naming it.
"""

import json
import sys
from pathlib import Path

import anyio
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.shared.exceptions import MCPError

EXPECTED_TOOLS = {
    "audit_code",
    "characterize",
    "explain_failure_mode",
    "investigate",
    "record_attempt",
    "search_knowledge",
    "trace_data_flow",
}

# Generous: a debug build investigates the example in well under a second.
TIMEOUT_SECONDS = 120


def check(condition, what):
    if not condition:
        raise AssertionError(what)
    print(f"ok: {what}")


def error_text(result):
    return " ".join(block.text for block in result.content if getattr(block, "type", "") == "text")


async def expect_tool_error(session, tool, arguments, *needles):
    result = await session.call_tool(tool, arguments)
    text = error_text(result)
    check(result.is_error is True, f"{tool} {json.dumps(arguments)[:80]} is a tool error")
    for needle in needles:
        check(needle in text, f"{tool} error says {needle!r} (got: {text[:200]!r})")
    return text


async def run(server_binary, repo_root):
    example = repo_root / "examples" / "fp16-nan"
    symptom = (example / "symptom.txt").read_text().strip()
    params = StdioServerParameters(command=str(server_binary), args=[], cwd=str(repo_root))
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        init = await session.initialize()
        check(init.server_info.name == "fmr", "server names itself fmr")
        check(init.capabilities.tools is not None, "server offers tools")

        listed = await session.list_tools()
        names = {tool.name for tool in listed.tools}
        check(names == EXPECTED_TOOLS, f"tool list is {sorted(EXPECTED_TOOLS)} (got {sorted(names)})")
        for tool in listed.tools:
            check(bool(tool.description), f"{tool.name} has a description")
            check(tool.input_schema.get("type") == "object", f"{tool.name} input schema is an object")
            check(tool.output_schema is not None, f"{tool.name} declares an output schema")
        investigate_schema = next(t for t in listed.tools if t.name == "investigate").input_schema
        check(
            "description" in investigate_schema["properties"]["symptom"],
            "field doc comments become schema descriptions",
        )

        # The main job, on a shipped example: logs, code and the user's words.
        arguments = {
            "paths": ["examples/fp16-nan/logs"],
            "code": "examples/fp16-nan/code",
            "symptom": symptom,
            "env": {"learning_rate": 3e-4, "precision": "fp16"},
        }
        result = await session.call_tool("investigate", arguments)
        check(result.is_error is not True, f"investigate succeeds ({error_text(result)[:200]})")
        report = result.structured_content
        check(isinstance(report, dict), "investigate returns structured content")
        check(report["schema_version"].startswith("1."), "report has schema version 1.x")
        check(report["inputs"] and report["inputs"][0]["points"] > 0, "the example's logs were read")
        kinds = {s["kind"] for s in report["characterization"]["symptoms"]}
        check("non_finite" in kinds, f"a non-finite symptom was detected (got {sorted(kinds)})")
        onset = report["characterization"]["onset"]
        check(onset is not None and 2000 <= onset["step"] <= 2200, f"onset near step 2,140 (got {onset})")
        top = report["hypotheses"][0]
        check(top["id"] == "FM0001" and "FP16" in top["title"], f"top hypothesis is fp16 overflow (got {top['id']} {top['title']})")
        check(top["evidence"] and top["sources"], "the top hypothesis carries evidence and sources")
        rules = {f["rule"] for f in report["audit_findings"]}
        check("PT005" in rules, f"the audit found autocast without GradScaler (got {sorted(rules)})")
        check(len(report["next_steps"]) > 0, "the report has a plan")
        check(json.loads(error_text(result)) == report, "the text block carries the same JSON")

        # Malformed arguments and bad inputs: tool errors with a clear message.
        await expect_tool_error(session, "investigate", {"paths": "examples/fp16-nan/logs"}, "invalid type", "sequence")
        await expect_tool_error(session, "investigate", {"log_paths": ["x"]}, "unknown field `log_paths`")
        await expect_tool_error(session, "investigate", {}, "nothing to investigate")
        await expect_tool_error(session, "investigate", {"paths": ["no/such/dir"]}, "no/such/dir: no such file or directory")
        await expect_tool_error(session, "search_knowledge", {"text": 42}, "invalid type", "expected a string")
        await expect_tool_error(session, "search_knowledge", {"text": "nan", "level": 9}, "`level` must be 1")
        await expect_tool_error(session, "explain_failure_mode", {"id": "FM9999"}, "no knowledge-base entry")
        await expect_tool_error(session, "audit_code", {"path": "examples/fp16-nan/code", "rules": ["XX999"]}, "unknown audit rule")
        await expect_tool_error(session, "trace_data_flow", {"path": "examples/fp16-nan/code", "name": "a b"}, "must be a Python name")
        await expect_tool_error(session, "trace_data_flow", {"path": "examples/fp16-nan/code", "name": "loss", "line": 3}, "unknown field `line`")
        try:
            await session.call_tool("no_such_tool", {})
            check(False, "an unknown tool is refused")
        except MCPError as error:
            check("not found" in str(error), f"an unknown tool is a protocol error ({error})")

        # The server survived all of that, and the other tools answer.
        hits = await session.call_tool("search_knowledge", {"text": "fp16 loss nan", "level": 1, "limit": 3})
        check(hits.is_error is not True and hits.structured_content["hits"][0]["title"], "search_knowledge answers after the errors")
        entry = await session.call_tool("explain_failure_mode", {"id": "fm1"})
        check(entry.structured_content["id"] == "FM0001" and entry.structured_content["sources"], "explain_failure_mode returns the entry with sources")
        audit = await session.call_tool("audit_code", {"path": "examples/fp16-nan/code"})
        check(any(f["rule"] == "PT005" for f in audit.structured_content["findings"]), "audit_code finds PT005")
        trace = await session.call_tool("trace_data_flow", {"path": "examples/fp16-nan/code", "name": "loss", "location": "train.py:25"})
        flow = trace.structured_content
        back = [(s["line"], s["kind"]) for s in flow["steps"] if s["direction"] == "backward"]
        forward = [(s["line"], s["kind"]) for s in flow["steps"] if s["direction"] == "forward"]
        check((24, "assign") in back, f"trace_data_flow finds where loss is assigned (got {back})")
        check((15, "loader") in back, f"trace_data_flow follows loss back to the data loader (got {back})")
        check((25, "backward_pass") in forward, f"trace_data_flow follows loss into backward (got {forward})")
        characterization = await session.call_tool("characterize", {"paths": ["examples/fp16-nan/logs"]})
        check(characterization.structured_content["characterization"]["symptoms"], "characterize returns symptoms")
        attempt = await session.call_tool(
            "record_attempt",
            {"inputs": arguments, "attempt": {"what": "added torch.cuda.amp.GradScaler around backward and step", "outcome": "failed"}},
        )
        moved = attempt.structured_content
        check(attempt.is_error is not True and moved["recorded"]["outcome"] == "failed", "record_attempt records a failed fix")
        check(moved["changes"] and moved["summary"], f"record_attempt says what moved: {moved['summary'][:160]}")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    server_binary, repo_root = Path(sys.argv[1]), Path(sys.argv[2])

    async def bounded():
        with anyio.fail_after(TIMEOUT_SECONDS):
            await run(server_binary, repo_root)

    anyio.run(bounded)
    print("MCP client checks passed")


if __name__ == "__main__":
    main()
