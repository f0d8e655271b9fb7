"""Generate the C header and the README tables from profile.toml.

    python -m barback.firmware_spec.generate          # rewrite barback_profile.h and README tables
    python -m barback.firmware_spec.generate --check  # exit 1 if they are out of date
"""

from __future__ import annotations

import functools
import re
import sys
from pathlib import Path

from barback.firmware_spec import C_TYPES, Profile, load_profile

HERE = Path(__file__).resolve().parent


def c_header(p: Profile) -> str:
    u = p.uuids
    lines = [
        f"/* barback DIY sensor profile, protocol version {p.version}.",
        " * GENERATED from firmware_spec/profile.toml by `python -m barback.firmware_spec.generate`: do not edit. */",
        "#ifndef BARBACK_PROFILE_H",
        "#define BARBACK_PROFILE_H",
        "#include <stdint.h>",
        "",
        f"#define BB_PROTOCOL_VERSION {p.version}",
    ]
    for key in ("service", "data", "control"):
        lines.append(f'#define BB_UUID_{key.upper()} "{u[key]}"')
    r = p.rates
    lines += [f"#define BB_RATE_MIN_HZ {r['min_hz']}", f"#define BB_RATE_MAX_HZ {r['max_hz']}",
              f"#define BB_RATE_DEFAULT_HZ {r['default_hz']}",
              f"#define BB_MAX_SAMPLES_PER_PACKET {r['max_samples_per_packet']}",
              f"#define BB_MAX_PACKET_INTERVAL_MS {r['max_packet_interval_ms']}",
              f"#define BB_MIN_ATT_MTU {p.raw['connection']['min_att_mtu']}",
              f"#define BB_HEADER_SIZE {p.header_size}", f"#define BB_SAMPLE_SIZE {p.sample_size}", ""]
    for c in p.raw["command"]:
        lines.append(f"#define BB_CMD_{c['name']} 0x{c['opcode']:02X}  /* {c['doc']} */")
    lines.append("#define BB_RESPONSE_FLAG 0x80")
    lines.append("")
    for name, val in p.status.items():
        lines.append(f"#define BB_STATUS_{name} {val}")
    for name, val in p.raw["state"].items():
        lines.append(f"#define BB_STATE_{name} {val}")
    for code, g in p.acc_ranges_g.items():
        lines.append(f"#define BB_ACC_RANGE_{int(g)}G {code}")
    for code, d in p.gyro_ranges_dps.items():
        lines.append(f"#define BB_GYRO_RANGE_{int(d)}DPS {code}")
    for title, fields in (("bb_data_header_t", p.header), ("bb_sample_t", p.sample), ("bb_status_t", p.status_payload)):
        lines += ["", "typedef struct __attribute__((packed)) {"]
        for f in fields:
            doc = f"  /* offset {f.offset}: {f.doc} */" if f.doc else f"  /* offset {f.offset} */"
            lines.append(f"    {C_TYPES[f.type]} {f.name};{doc}")
        lines.append(f"}} {title};")
    lines += ["", "#endif /* BARBACK_PROFILE_H */", ""]
    return "\n".join(lines)


def md_tables(p: Profile) -> dict[str, str]:
    def fields(fs):
        rows = ["| offset | size | type | field | meaning |", "|---|---|---|---|---|"]
        rows += [f"| {f.offset} | {f.size} | {f.type} | `{f.name}` | {f.doc} |" for f in fs]
        return "\n".join(rows)

    cmds = ["| opcode | command | arguments | meaning |", "|---|---|---|---|"]
    for c in p.raw["command"]:
        args = ", ".join(f"`{a}` {t}" for a, t in c["args"]) or "–"
        cmds.append(f"| 0x{c['opcode']:02X} | `{c['name']}` | {args} | {c['doc']} |")
    status = ["| code | status |", "|---|---|"] + [f"| {v} | `{k}` |" for k, v in p.status.items()]
    ranges = ["| code | accelerometer full scale | gyroscope full scale |", "|---|---|---|"]
    ranges += [f"| {c} | ±{p.acc_ranges_g[c]:g} g | ±{p.gyro_ranges_dps[c]:g} °/s |" for c in sorted(p.acc_ranges_g)]
    uu = ["| characteristic | UUID |", "|---|---|"] + [f"| {k} | `{v}` |" for k, v in p.uuids.items()]
    budget = ["| rate (Hz) | samples per packet | packets/s | payload bytes/s | on-air bytes/s (with ATT+L2CAP+LL headers) |",
              "|---|---|---|---|---|"]
    for rate in (50, 100, 200, 400, 1000):
        per = min(p.rates["max_samples_per_packet"], max(1, int(rate * p.rates["max_packet_interval_ms"] / 1000)))
        pps = rate / per
        payload = p.header_size + per * p.sample_size
        budget.append(f"| {rate} | {per} | {pps:.1f} | {pps * payload:,.0f} | {pps * (payload + 3 + 4 + 10):,.0f} |")
    return {"uuids": "\n".join(uu), "header": fields(p.header), "sample": fields(p.sample),
            "commands": "\n".join(cmds), "status": "\n".join(status), "ranges": "\n".join(ranges),
            "status_payload": fields(p.status_payload), "budget": "\n".join(budget)}


def _fill_block(m: re.Match, table: str) -> str:
    return m.group(1) + table + "\n" + m.group(2)


def render_readme(text: str, p: Profile) -> str:
    for name, table in md_tables(p).items():
        pat = re.compile(rf"(<!-- BEGIN GENERATED {name} -->\n)(?:.*?\n)?(<!-- END GENERATED {name} -->)", re.S)
        if not pat.search(text):
            raise ValueError(f"README has no generated block {name!r}")
        text = pat.sub(functools.partial(_fill_block, table=table), text)
    return text


def main(argv=None) -> int:
    check = "--check" in (argv if argv is not None else sys.argv[1:])
    p = load_profile()
    targets = {HERE / "barback_profile.h": c_header(p),
               HERE / "README.md": render_readme((HERE / "README.md").read_text(), p)}
    stale = [path for path, text in targets.items() if not path.exists() or path.read_text() != text]
    if check:
        for path in stale:
            print(f"{path} is out of date with profile.toml; run python -m barback.firmware_spec.generate")
        return 1 if stale else 0
    for path, text in targets.items():
        path.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
