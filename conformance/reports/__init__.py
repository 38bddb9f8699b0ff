"""Reports a release owner reads (docs/reports.md).

- summary.py, session.py, identity.py: per-run summary and the run's identity (summary.json, JUnit properties,
  pytest-benchmark machine_info); junit.py: reading, validating and merging JUnit;
- benchstore.py, benchstats.py, charts.py, benchreport.py: kept benchmark runs, the noise-aware comparison,
  its charts and report;
- acceptance.py, signoff_report.py, evidence.py: the acceptance sign-off and its tamper evidence;
- fleet.py, fleet_report.py: many devices' folders in one table, KCIDB JSON and one JUnit file;
- html.py: the self-contained HTML pages.
"""
