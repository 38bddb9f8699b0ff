"""tegrastats: the parser takes the field variants of Orin NX / AGX / Nano on JetPack 5, 6 and 7 (and the older
Jetson format without units), the sampler runs it in the background, and the summary gives the memory a run
cost as unified memory (peak over the idle baseline)."""

from __future__ import annotations

import sys

import pytest

from conformance.device.facts import DeviceDataError
from conformance.device.tegrastats import Sampler, SamplerError, parse_line, parse_lines, summarise

LINES = {
    # JetPack 6, Orin Nano 8GB, idle: no GPU frequency when the GPU is idle
    "jp6-nano-idle": "07-29-2026 18:00:27 RAM 2272/7620MB (lfb 4x4MB) SWAP 221/3810MB (cached 0MB) CPU [0%@729,0%@1036,"
                     "0%@1036,0%@1036,0%@729,0%@729] GR3D_FREQ 0% cpu@54.937C soc2@55.562C soc0@56.156C gpu@55.468C "
                     "tj@56.656C soc1@56.656C VDD_IN 4673mW/4673mW VDD_CPU_GPU_CV 527mW/527mW VDD_SOC 1339mW/1339mW",
    # JetPack 6, Orin NX 16GB under load: one GPC
    "jp6-nx-busy": "11-27-2026 14:02:20 RAM 4980/15289MB (lfb 512x4MB) SWAP 0/7644MB (cached 0MB) CPU [52%@1984,48%@1984,"
                   "61%@1984,44%@1984,39%@1984,58%@1984,63%@1984,41%@1984] GR3D_FREQ 61%@[918] cpu@52.1C gpu@51.7C "
                   "soc0@50.2C soc1@50.0C soc2@49.9C tj@52.1C VDD_IN 13790mW/13420mW VDD_CPU_GPU_CV 6400mW/6280mW "
                   "VDD_SOC 3100mW/2980mW",
    # JetPack 6, AGX Orin 64GB under load: two GPCs, absent sensors
    "jp6-agx-busy": "11-28-2026 14:04:10 RAM 5220/62841MB (lfb 7391x4MB) SWAP 0/31420MB (cached 0MB) CPU [50%@2201,48%@2201]"
                    " GR3D_FREQ 98%@[1300,1300] cv0@-256C gpu@-256C cv1@-256C cv2@-256C cpu@52.315C soc2@53.839C "
                    "tj@53.203C VDD_GPU_SOC 17592mW/17480mW VDD_CPU_CV 4096mW/3980mW VIN_SYS_5V0 6905mW/6780mW",
    # JetPack 5, AGX Orin: upper-case sensors, offline cores, GPCs at idle frequency
    "jp5-agx": "04-14-2023 10:11:12 RAM 1881/30536MB (lfb 6542x4MB) SWAP 0/15268MB (cached 0MB) CPU [0%@729,0%@729,0%@729,"
               "0%@729,off,off,off,off] EMC_FREQ 0%@2133 GR3D_FREQ 0%@[305,305] VIC_FREQ 729 APE 233 CV0@-256C CPU@46.5C "
               "Tboard@34C SOC2@42.812C Tdiode@36.5C SOC0@43.593C CV1@-256C GPU@-256C tj@46.5C SOC1@42.906C CV2@-256C "
               "VDD_GPU_SOC 2784mW/2784mW VDD_CPU_CV 398mW/398mW VIN_SYS_5V0 3619mW/3619mW VDDQ_VDD2_1V8AO 302mW/302mW",
    # JetPack 5, Orin NX
    "jp5-nx": "04-14-2023 10:11:13 RAM 2101/15388MB (lfb 2765x4MB) SWAP 0/7694MB (cached 0MB) CPU [1%@729,0%@729,2%@729,"
              "0%@729,0%@729,0%@729,0%@729,1%@729] EMC_FREQ 0%@2133 GR3D_FREQ 0%@[305] cpu@45.593C soc2@43.718C "
              "soc0@44.343C gpu@43.375C tj@45.593C soc1@43.625C VDD_IN 5123mW/5123mW VDD_CPU_GPU_CV 605mW/605mW "
              "VDD_SOC 1410mW/1410mW",
    # JetPack 7 on AGX Orin: no SWAP field, temperatures as current/limit
    "jp7-agx": "07-25-2026 09:08:28 RAM 20642/62817MB (lfb 1x2MB) CPU [23%@2201,10%@2201] EMC_FREQ 3%@3199 "
               "GR3D_FREQ 0%@[1300,1300] NVENC0 off NVDEC0 off APE 174 cpu@52.968C/52.968C gpu@50.125C/50.125C "
               "VDD_GPU_SOC 2400mW/2400mW VDD_CPU_CV 1205mW/1205mW",
    # JetPack 7 on Thor: GPC frequencies without a load figure, renamed GPU rail
    "jp7-thor": "07-02-2026 11:30:00 RAM 9120/125772MB (lfb 12x4MB) CPU [5%@2601,3%@2601] GR3D_FREQ @[1000,1000,1000] "
                "gpu@62.906C/62.906C cpu@58.1C VDD_GPU 7325mW/7325mW VDD_CPU_SOC_MSS 9950mW/9950mW",
    # older Jetson (JetPack 4): no timestamp, rails without units, frequency without brackets
    "jp4-nano": "RAM 1517/3964MB (lfb 47x4MB) SWAP 0/1982MB (cached 0MB) CPU [3%@102,2%@102,0%@102,1%@102] EMC_FREQ 0% "
                "GR3D_FREQ 0%@76 PLL@22.5C CPU@24.5C PMIC@100C GPU@24C AO@31C thermal@24.5C POM_5V_IN 1891/1891 "
                "POM_5V_GPU 0/0 POM_5V_CPU 204/204",
}

EXPECTED = {  # ram used/total, GPU load, GPC MHz, a rail (now, avg), absent sensors
    "jp6-nano-idle": (2272, 7620, 0, (), ("VDD_IN", (4673, 4673)), ()),
    "jp6-nx-busy": (4980, 15289, 61, (918,), ("VDD_CPU_GPU_CV", (6400, 6280)), ()),
    "jp6-agx-busy": (5220, 62841, 98, (1300, 1300), ("VDD_GPU_SOC", (17592, 17480)), ("cv0", "gpu", "cv1", "cv2")),
    "jp5-agx": (1881, 30536, 0, (305, 305), ("VDDQ_VDD2_1V8AO", (302, 302)), ("CV0", "CV1", "GPU", "CV2")),
    "jp5-nx": (2101, 15388, 0, (305,), ("VDD_SOC", (1410, 1410)), ()),
    "jp7-agx": (20642, 62817, 0, (1300, 1300), ("VDD_CPU_CV", (1205, 1205)), ()),
    "jp7-thor": (9120, 125772, None, (1000, 1000, 1000), ("VDD_GPU", (7325, 7325)), ()),
    "jp4-nano": (1517, 3964, 0, (76,), ("POM_5V_IN", (1891, 1891)), ()),
}


@pytest.mark.parametrize("variant", sorted(LINES), ids=sorted(LINES))
def test_each_board_and_jetpack_variant_parses(variant: str) -> None:
    used, total, load, freqs, (rail, mw), absent = EXPECTED[variant]
    sample = parse_line(LINES[variant])
    assert (sample.ram_used_mb, sample.ram_total_mb) == (used, total), f"{variant}: RAM {sample}"
    assert sample.gpu_load_percent == load and sample.gpu_freq_mhz == freqs, f"{variant}: GR3D {sample}"
    assert sample.rails_mw.get(rail) == mw, f"{variant}: rail {rail} {sample.rails_mw}"
    assert "RAM" not in sample.rails_mw and "SWAP" not in sample.rails_mw, f"{variant}: RAM taken for a rail"
    assert sample.absent_sensors == absent, f"{variant}: absent sensors {sample.absent_sensors}"
    assert all(t > -256 for t in sample.temperatures_c.values()), f"{variant}: -256C taken for a temperature"


def test_details_of_the_variants() -> None:
    assert parse_line(LINES["jp5-agx"]).cpu_load_percent[4:] == (None,) * 4, "offline cores are None"
    assert parse_line(LINES["jp7-agx"]).temperatures_c["cpu"] == 52.968, "current/limit keeps the current"
    assert parse_line(LINES["jp7-agx"]).swap_used_mb is None, "JetPack 7 has no SWAP field"
    assert parse_line(LINES["jp4-nano"]).timestamp is None, "JetPack 4 has no timestamp"
    assert parse_line(LINES["jp6-nano-idle"]).timestamp == "07-29-2026 18:00:27"
    assert parse_line(LINES["jp4-nano"]).temperatures_c["PMIC"] == 100.0


def test_a_line_without_ram_is_rejected_naming_the_line() -> None:
    with pytest.raises(DeviceDataError, match="expected 'RAM <used>/<total>MB'"):
        parse_line("CPU [0%@729] GR3D_FREQ 0%")
    with pytest.raises(DeviceDataError, match="^line 2: tegrastats"):
        parse_lines([LINES["jp5-nx"], "Segmentation fault", ""])


def test_summary_is_peak_over_the_idle_baseline() -> None:
    idle = [LINES["jp6-nano-idle"]] * 3
    busy = [LINES["jp6-nano-idle"].replace("RAM 2272/", f"RAM {ram}/").replace("GR3D_FREQ 0%", f"GR3D_FREQ {load}%@[1020]")
            for ram, load in ((3100, 80), (4772, 97), (4500, 90))]
    summary = summarise(parse_lines([*idle, *busy]), baseline_samples=3)
    assert summary.ram_baseline_mb == 2272 and summary.ram_peak_mb == 4772, f"{summary}"
    assert summary.ram_added_mb == 2500, f"peak over baseline: {summary.ram_added_mb}"
    assert summary.gpu_load_peak_percent == 97 and summary.samples == 3, f"{summary}"
    assert summary.rails_mean_mw["VDD_IN"] == 4673, f"{summary.rails_mean_mw}"
    with pytest.raises(DeviceDataError, match="at least one during the run"):
        summarise(parse_lines(idle), baseline_samples=3)


def test_sampler_runs_tegrastats_in_the_background_and_marks_the_baseline() -> None:
    script = ("import sys, time\nline = sys.argv[1]\nwhile True:\n    print(line, flush=True)\n    time.sleep(0.05)\n")
    with Sampler([sys.executable, "-c", script, LINES["jp5-nx"]]) as sampler:
        sampler.wait_for(3)
        baseline = sampler.mark()
        sampler.wait_for(baseline + 3)
    lines = sampler.stop()
    assert baseline >= 3 and len(lines) >= baseline + 3, f"{baseline} baseline lines of {len(lines)}"
    assert summarise(parse_lines(lines), baseline).ram_added_mb == 0, "a flat run adds no memory"


def test_sampler_says_what_is_missing() -> None:
    with pytest.raises(SamplerError, match="cannot start `no-such-tegrastats --interval 200`.*expected tegrastats"):
        Sampler(["no-such-tegrastats", "--interval", "200"]).start()
    sampler = Sampler([sys.executable, "-c", "pass"]).start()
    with pytest.raises(SamplerError, match="printed 0 line"):
        sampler.wait_for(1, timeout_s=5)
    sampler.stop()
