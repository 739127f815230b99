"""Deterministic realistic sample values by kind, used to build the labelled development set."""

from __future__ import annotations

import random
import string
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

COMPANIES = [
    "Acme Corp",
    "Globex Inc",
    "Initech",
    "Umbrella Holdings",
    "Stark Industries",
    "Wayne Enterprises",
    "Hooli",
    "Vandelay Industries",
    "Soylent Ltd",
    "Wonka Foods",
    "Cyberdyne Systems",
    "Tyrell Corp",
]
COMPANIES_DE = [
    "Müller Maschinenbau GmbH",
    "Schmidt & Söhne KG",
    "Bayer Logistik AG",
    "Nordlicht Software GmbH",
    "Alpen Energie AG",
    "Hansa Handel GmbH",
]
COMPANIES_FR = ["Société Générale du Bâtiment", "Dupont et Fils SARL", "Lumière Technologies SA", "Atelier Bleu"]
COMPANIES_ES = ["Construcciones García S.L.", "Soluciones Ibéricas S.A.", "Tecnologías del Sur", "Vinos Rioja S.L."]
FIRST = ["James", "Maria", "Wei", "Fatima", "Lukas", "Sophie", "Carlos", "Aiko", "Olivia", "Noah", "Emma", "Liam"]
LAST = ["Smith", "García", "Müller", "Dubois", "Rossi", "Kowalski", "Tanaka", "Johnson", "Silva", "de Vries"]
CITIES = ["New York", "San Francisco", "Chicago", "London", "Berlin", "Paris", "Madrid", "Austin", "Toronto"]
CITIES_DE = ["München", "Hamburg", "Köln", "Frankfurt am Main", "Stuttgart", "Düsseldorf", "Leipzig"]
CITIES_FR = ["Lyon", "Marseille", "Toulouse", "Bordeaux", "Lille", "Nantes"]
CITIES_ES = ["Barcelona", "Valencia", "Sevilla", "Bilbao", "Málaga", "Zaragoza"]
STATES = ["CA", "NY", "TX", "IL", "WA", "MA", "FL"]
STATE_NAMES = ["California", "New York", "Texas", "Bavaria", "Ontario", "Île-de-France", "Catalonia"]
COUNTRIES = ["United States", "Germany", "France", "United Kingdom", "Spain", "Canada", "Netherlands"]
COUNTRY_CODES = ["US", "DE", "FR", "GB", "ES", "CA", "NL", "IT"]
COUNTRIES_DE = ["Deutschland", "Österreich", "Schweiz", "Frankreich", "Italien"]
STREETS = ["123 Main Street", "1 Market St", "500 Oracle Pkwy Suite 200", "77 Massachusetts Ave", "10 Downing Road"]
STREETS_DE = ["Hauptstraße 12", "Leopoldstr. 5", "Am Markt 3", "Bahnhofstraße 101", "Königsallee 27"]
STREETS_FR = ["12 rue de la Paix", "45 avenue Foch", "3 boulevard Haussmann", "8 rue Victor Hugo"]
STREETS_ES = ["Calle Mayor 10", "Avenida de América 45", "Paseo de Gracia 92", "Calle de Alcalá 20"]
INDUSTRIES = [
    "Technology",
    "Banking",
    "Healthcare",
    "Manufacturing",
    "Retail",
    "Education",
    "Insurance",
    "Telecommunications",
    "Energy",
    "Consulting",
]
INDUSTRIES_DE = ["Maschinenbau", "Handel", "Software", "Gesundheitswesen", "Versicherung", "Logistik"]
STAGES_SF = [
    "Prospecting",
    "Qualification",
    "Needs Analysis",
    "Value Proposition",
    "Proposal/Price Quote",
    "Negotiation/Review",
    "Closed Won",
    "Closed Lost",
]
STAGES_HS = [
    "appointmentscheduled",
    "qualifiedtobuy",
    "presentationscheduled",
    "decisionmakerboughtin",
    "contractsent",
    "closedwon",
    "closedlost",
]
STAGES_GENERIC = ["Lead", "Qualified", "Demo", "Proposal", "Negotiation", "Won", "Lost"]
STAGES_DE = ["Erstkontakt", "Qualifizierung", "Angebot", "Verhandlung", "Gewonnen", "Verloren"]
LEAD_SOURCES = ["Web", "Referral", "Partner", "Trade Show", "Cold Call", "Advertisement", "Email Campaign"]
DEAL_TYPES = ["New Business", "Existing Business", "Renewal", "Upsell"]
TITLES = [
    "VP of Sales",
    "Chief Technology Officer",
    "Marketing Manager",
    "Software Engineer",
    "CFO",
    "Head of Procurement",
    "Director of Operations",
    "Account Executive",
]
TITLES_DE = ["Geschäftsführer", "Leiter Einkauf", "Vertriebsleiterin", "Projektmanager", "IT-Leiter"]
DEPARTMENTS = ["Sales", "Marketing", "Finance", "Engineering", "Procurement", "IT", "Operations"]
DEPARTMENTS_DE = ["Vertrieb", "Einkauf", "Buchhaltung", "Entwicklung", "Marketing"]
DESCRIPTIONS = [
    "Leading provider of cloud-based logistics software for mid-sized retailers in Europe.",
    "Family-owned manufacturer of industrial pumps, expanding into North America next year.",
    "Long-standing customer since 2015; key contact changed in Q3, renewal discussions ongoing.",
    "Regional bank focused on SME lending; evaluating our analytics platform.",
]
COLORS = ["blue", "green", "red", "purple", "orange"]


class ValueFactory:
    """Sample values for one field kind, seeded by the field so the data set is reproducible."""

    def __init__(self, seed: str) -> None:
        self.r = random.Random(seed)

    def pick(self, items: list[Any]) -> Any:
        return self.r.choice(items)

    def digits(self, n: int) -> str:
        return "".join(self.r.choice(string.digits) for _ in range(n))

    def alnum(self, n: int) -> str:
        return "".join(self.r.choice(string.ascii_letters + string.digits) for _ in range(n))

    def when(self) -> datetime:
        return datetime(2021, 1, 1, tzinfo=UTC) + timedelta(minutes=self.r.randint(0, 60 * 24 * 1400))

    def one(self, kind: str) -> Any:
        r = self.r
        gens: dict[str, Any] = {
            "sfid_001": lambda: "001" + self.alnum(12) + self.alnum(3).upper(),
            "sfid_006": lambda: "006" + self.alnum(12) + self.alnum(3).upper(),
            "sfid_003": lambda: "003" + self.alnum(12) + self.alnum(3).upper(),
            "sfid_005": lambda: "005" + self.alnum(12) + self.alnum(3).upper(),
            "sfid_00q": lambda: "00Q" + self.alnum(12),
            "numid": lambda: self.digits(r.choice([8, 9, 10, 11])).lstrip("0") or "7",
            "bigid": lambda: "3" + self.digits(18),
            "smallid": lambda: r.randint(1, 5000),
            "guid": lambda: str(uuid.UUID(int=r.getrandbits(128))),
            "objid": lambda: "".join(r.choice("0123456789abcdef") for _ in range(24)),
            "codeid": lambda: r.choice(["CUST", "ACC", "K", "C"]) + "-" + self.digits(5),
            "company": lambda: self.pick(COMPANIES),
            "company_de": lambda: self.pick(COMPANIES_DE),
            "company_fr": lambda: self.pick(COMPANIES_FR),
            "company_es": lambda: self.pick(COMPANIES_ES),
            "deal": lambda: f"{self.pick(COMPANIES)} - {r.choice(['Expansion', 'Renewal 2025', 'Pilot', 'Q3 deal'])}",
            "deal_de": lambda: f"{self.pick(COMPANIES_DE)} - {r.choice(['Rahmenvertrag', 'Pilotprojekt', 'Lizenz'])}",
            "first": lambda: self.pick(FIRST),
            "last": lambda: self.pick(LAST),
            "full_name": lambda: f"{self.pick(FIRST)} {self.pick(LAST)}",
            "email": lambda: (
                f"{self.pick(FIRST).lower()}.{self.pick(LAST).lower().replace(' ', '')}@"
                f"{r.choice(['acme.com', 'globex.io', 'initech.de', 'hooli.co.uk'])}"
            ),
            "url": lambda: (
                r.choice(["https://www.", "http://", "www.", ""])
                + r.choice(["acme.com", "globex.io", "initech.de", "hooli.co.uk", "wonka-foods.com"])
            ),
            "domain": lambda: r.choice(["acme.com", "globex.io", "initech.de", "hooli.co.uk", "wonka-foods.com"]),
            "linkedin": lambda: f"https://www.linkedin.com/in/{self.pick(FIRST).lower()}-{self.digits(4)}",
            "twitter": lambda: f"@{self.pick(FIRST).lower()}{self.digits(2)}",
            "phone_us": lambda: f"({self.digits(3)}) {self.digits(3)}-{self.digits(4)}",
            "phone_intl": lambda: f"+{r.choice(['1', '44', '49', '33', '34'])} {self.digits(3)} {self.digits(7)}",
            "phone_de": lambda: f"0{self.digits(3)} {self.digits(6)}",
            "city": lambda: self.pick(CITIES),
            "city_de": lambda: self.pick(CITIES_DE),
            "city_fr": lambda: self.pick(CITIES_FR),
            "city_es": lambda: self.pick(CITIES_ES),
            "state": lambda: self.pick(STATES),
            "state_name": lambda: self.pick(STATE_NAMES),
            "zip": lambda: r.choice([self.digits(5), "0" + self.digits(4), f"{self.digits(5)}-{self.digits(4)}"]),
            "plz": lambda: r.choice(["0", "1", "8"]) + self.digits(4),
            "street": lambda: self.pick(STREETS),
            "street_de": lambda: self.pick(STREETS_DE),
            "street_fr": lambda: self.pick(STREETS_FR),
            "street_es": lambda: self.pick(STREETS_ES),
            "country": lambda: self.pick(COUNTRIES),
            "country_code": lambda: self.pick(COUNTRY_CODES),
            "country_de": lambda: self.pick(COUNTRIES_DE),
            "industry": lambda: self.pick(INDUSTRIES),
            "industry_upper": lambda: self.pick(INDUSTRIES).upper().replace(" ", "_"),
            "industry_de": lambda: self.pick(INDUSTRIES_DE),
            "employees": lambda: r.choice([12, 45, 120, 850, 2300, 15000, 64000]),
            "employees_str": lambda: str(r.choice([12, 45, 120, 850, 2300, 15000])),
            "revenue": lambda: float(r.choice([250000, 1200000, 8500000, 42000000, 1.3e9])),
            "revenue_de": lambda: f"{r.choice(['1.200.000', '850.000', '12.500.000', '3.400.000'])} €",
            "revenue_usd": lambda: f"${r.choice(['1,200,000', '850,000', '12,500,000', '3.4M'])}",
            "amount": lambda: float(r.choice([5000, 12500, 48000, 150000, 875000.5])),
            "amount_str": lambda: r.choice(["12500.00", "48000", "150000.50", "9999.99"]),
            "amount_eur": lambda: f"{r.choice(['12.500,00', '48.000,00', '150.000,50'])} €",
            "currency": lambda: r.choice(["USD", "EUR", "GBP", "CHF", "JPY"]),
            "stage_sf": lambda: self.pick(STAGES_SF),
            "stage_hs": lambda: self.pick(STAGES_HS),
            "stage_generic": lambda: self.pick(STAGES_GENERIC),
            "stage_de": lambda: self.pick(STAGES_DE),
            "stage_id": lambda: r.randint(1, 7),
            "prob_int": lambda: r.choice([10, 20, 40, 60, 75, 90, 100]),
            "prob_pct": lambda: f"{r.choice([10, 20, 40, 60, 75, 90])}%",
            "prob_frac": lambda: r.choice([0.1, 0.2, 0.4, 0.6, 0.75, 0.9]),
            "date_iso": lambda: self.when().date().isoformat(),
            "date_us": lambda: self.when().strftime("%m/%d/%Y"),
            "date_de": lambda: self.when().strftime("%d.%m.%Y"),
            "date_fr": lambda: self.when().strftime("%d/%m/%Y"),
            "dt_sf": lambda: self.when().strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
            "dt_iso": lambda: self.when().strftime("%Y-%m-%dT%H:%M:%SZ"),
            "dt_space": lambda: self.when().strftime("%Y-%m-%d %H:%M:%S"),
            "epoch_ms": lambda: str(int(self.when().timestamp() * 1000)),
            "status": lambda: r.choice(["open", "won", "lost"]),
            "status_title": lambda: r.choice(["Open", "Won", "Lost"]),
            "status_de": lambda: r.choice(["offen", "gewonnen", "verloren"]),
            "bool": lambda: r.choice([True, False]),
            "bool_str": lambda: r.choice(["true", "false"]),
            "lead_source": lambda: self.pick(LEAD_SOURCES),
            "deal_type": lambda: self.pick(DEAL_TYPES),
            "title": lambda: self.pick(TITLES),
            "title_de": lambda: self.pick(TITLES_DE),
            "department": lambda: self.pick(DEPARTMENTS),
            "department_de": lambda: self.pick(DEPARTMENTS_DE),
            "description": lambda: self.pick(DESCRIPTIONS),
            "rating": lambda: r.choice(["Hot", "Warm", "Cold"]),
            "sla": lambda: r.choice(["Gold", "Silver", "Bronze", "Platinum"]),
            "tax_id": lambda: r.choice(["DE", "FR", "GB", "ES"]) + self.digits(9),
            "small_int": lambda: r.randint(1, 40),
            "color": lambda: self.pick(COLORS),
            "ticker": lambda: r.choice(["ACME", "GLBX", "INIT", "HOOL", "WONK"]),
            "sic": lambda: r.choice(["7372", "6021", "8062", "3561", "5411"]),
            "ownership": lambda: r.choice(["Public", "Private", "Subsidiary", "Other"]),
            "region": lambda: r.choice(["EMEA", "APAC", "NA", "LATAM"]),
            "score": lambda: r.randint(0, 100),
            "segment": lambda: r.choice(["SMB", "Mid-Market", "Enterprise"]),
            "timezone": lambda: r.choice(["Europe/Berlin", "America/New_York", "Asia/Tokyo"]),
            "language": lambda: r.choice(["English", "German", "French", "Spanish"]),
            "salutation": lambda: r.choice(["Mr.", "Ms.", "Dr.", "Mrs."]),
            "birthdate": lambda: f"19{r.randint(55, 99)}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}",
            "next_step": lambda: r.choice(
                ["Send revised quote", "Schedule demo with IT", "Legal review", "Follow up after holidays"]
            ),
            "forecast": lambda: r.choice(["Pipeline", "Best Case", "Commit", "Closed", "Omitted"]),
            "quantity": lambda: r.randint(1, 500),
            "lost_reason": lambda: r.choice(["Price too high", "Went with competitor", "No budget", ""]),
            "pipeline": lambda: r.choice(["default", "Enterprise pipeline", "Renewals"]),
            "lifecycle": lambda: r.choice(["lead", "marketingqualifiedlead", "salesqualifiedlead", "customer"]),
            "count_small": lambda: r.randint(0, 25),
            "nps": lambda: r.randint(-100, 100),
            "vat": lambda: f"EU{self.digits(9)}",
            "gdpr": lambda: r.choice(["opt-in", "opt-out", "pending"]),
            "hobby": lambda: r.choice(["golf", "sailing", "chess", "running"]),
            "active": lambda: r.choice(["Yes", "No"]),
            "priority": lambda: r.choice(["High", "Medium", "Low"]),
            "campaign": lambda: r.choice(["Spring Webinar 2024", "Black Friday", "DACH Roadshow"]),
            "duns": lambda: self.digits(9),
            "fiscal": lambda: f"Q{r.randint(1, 4)}-{r.choice([2024, 2025])}",
            "ext_ref": lambda: f"ERP-{self.digits(6)}",
        }
        return gens[kind]()

    def values(self, kind: str, n: int = 8) -> list[Any]:
        """n sample values (some fields have blanks, as real exports do)."""
        out = [self.one(kind) for _ in range(n)]
        if self.r.random() < 0.3:
            out[self.r.randrange(n)] = None
        return out
