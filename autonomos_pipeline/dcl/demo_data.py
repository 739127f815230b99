"""Deterministic sample CRM exports for the demo: accounts, opportunities and contacts, and a drifted accounts file."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

_COMPANIES = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Wonka", "Tyrell",
              "Cyberdyne", "Soylent", "Oscorp", "Vandelay", "Prestige", "Massive", "Gringotts", "Aperture",
              "Black Mesa"]  # fmt: skip
_SUFFIX = ["Corp", "Inc", "GmbH", "Ltd", "SA", "BV", "AG", "LLC"]
_INDUSTRIES = ["Manufacturing", "Energy", "Software", "Pharma", "Retail", "Finance", "Logistics", "Media"]
_CITIES = [("Boston", "USA", "+1 617 555 0{:03d}"), ("Berlin", "Deutschland", "030 555{:04d}"),
           ("London", "United Kingdom", "020 7946 0{:03d}"), ("Paris", "France", "01 45 55 {:04d}"),
           ("Austin", "US", "(512) 555-0{:03d}"), ("Madrid", "España", "91 555 {:04d}")]  # fmt: skip
_STAGES = [("Prospecting", 10), ("Qualification", 20), ("Proposal", 50), ("Negotiation", 75), ("Closed Won", 100),
           ("Closed Lost", 0)]  # fmt: skip
_FIRST = ["Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald", "Margaret", "Ken", "Frances", "John"]
_LAST = ["Lovelace", "Turing", "Hopper", "Dijkstra", "Liskov", "Knuth", "Hamilton", "Thompson", "Allen", "Backus"]
_START = datetime(2024, 1, 1, 9, 0, tzinfo=UTC)


def _account(i: int) -> dict[str, str]:
    company = f"{_COMPANIES[i % len(_COMPANIES)]} {_SUFFIX[(i // len(_COMPANIES)) % len(_SUFFIX)]} {i:04d}"
    city, country, phone = _CITIES[i % len(_CITIES)]
    domain = company.lower().replace(" ", "") + ".example.com"
    return {
        "Id": f"001D{i:07d}",
        "Account Name": company,
        "Website": f"https://www.{domain}/",
        "Industry": _INDUSTRIES[i % len(_INDUSTRIES)],
        "NumberOfEmployees": str(25 + (i * 37) % 5000),
        "AnnualRevenue": f"{(i * 7919) % 90_000_000 + 100_000}.00",
        "Phone": phone.format(i % 1000),
        "BillingCity": city,
        "BillingCountry": country,
        "CreatedDate": (_START + timedelta(hours=i)).strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
    }


def write_demo_files(folder: Path, accounts: int = 500) -> dict[str, int]:
    """Write accounts.csv, opportunities.csv and contacts.csv; return the row counts."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = [_account(i) for i in range(accounts)]
    _write(folder / "accounts.csv", rows)
    opps = []
    for i in range(accounts * 2):
        stage, prob = _STAGES[i % len(_STAGES)]
        opps.append({
            "Opportunity ID": f"006D{i:07d}", "Account": rows[i % accounts]["Id"],
            "Opportunity Name": f"{rows[i % accounts]['Account Name']} deal {i}",
            "Amount": f"${(i * 3571) % 500_000 + 5_000:,}.00",
            "Currency": "USD", "Stage": stage, "Probability (%)": f"{prob}%",
            "Close Date": (_START + timedelta(days=30 + i % 300)).strftime("%m/%d/%Y"),
        })  # fmt: skip
    _write(folder / "opportunities.csv", opps)
    contacts = []
    for i in range(accounts * 3):
        first, last = _FIRST[i % len(_FIRST)], _LAST[(i // len(_FIRST)) % len(_LAST)]
        contacts.append({
            "Contact ID": f"003D{i:07d}", "Account ID": rows[i % accounts]["Id"], "First Name": first,
            "Last Name": last, "Email": f"{first}.{last}{i}@Example.com", "Title": "VP Engineering",
            "City": rows[i % accounts]["BillingCity"], "Country": rows[i % accounts]["BillingCountry"],
        })  # fmt: skip
    _write(folder / "contacts.csv", contacts)
    return {"accounts": len(rows), "opportunities": len(opps), "contacts": len(contacts)}


def write_drifted_accounts(folder: Path, accounts: int = 500, new_rows: int = 25) -> int:
    """Rewrite accounts.csv as an admin's schema change would: three renames, one new column, one type change."""
    renames = {"Website": "Company_Website__c", "AnnualRevenue": "Annual_Revenue__c", "BillingCity": "Billing_City__c"}
    rows = []
    for i in range(accounts + new_rows):
        row = {renames.get(k, k): v for k, v in _account(i).items()}
        row["NumberOfEmployees"] = f"{int(row['NumberOfEmployees']):,}"  # now text with separators
        row["SLA__c"] = ["Gold", "Silver", "Bronze"][i % 3]
        rows.append(row)
    _write(folder / "accounts.csv", rows)
    return len(rows)


def _write(path: Path, rows: list[dict[str, str]]) -> None:
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(path)
