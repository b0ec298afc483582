"""Reference data every install starts with: makes and models, ports, and a starter set of
destination rules. Staff must keep the rules current (the back office says so on every page
that shows them); each rule names its source."""

from datetime import date

from django.db import migrations
from django.utils.text import slugify

MAKES = {
    "Toyota": ["Prius", "Aqua", "Corolla Fielder", "Corolla Axio", "Vitz", "Probox", "Hiace Van",
               "Land Cruiser Prado", "RAV4", "Harrier", "Noah", "Voxy", "Alphard", "Hilux", "Premio",
               "Allion", "Mark X", "Crown", "Passo", "Wish", "Sienta", "Dyna", "Coaster"],
    "Nissan": ["Note", "March", "X-Trail", "Serena", "Tiida", "AD Van", "Caravan", "Navara",
               "Juke", "Leaf", "Sylphy", "Wingroad", "Dualis", "Elgrand"],
    "Honda": ["Fit", "Vezel", "Freed", "CR-V", "Stepwgn", "Insight", "Civic", "Grace", "N-Box"],
    "Mazda": ["Demio", "Axela", "Atenza", "CX-5", "CX-3", "Bongo", "Premacy"],
    "Subaru": ["Impreza", "Forester", "Legacy", "XV", "Outback"],
    "Mitsubishi": ["Outlander", "Pajero", "Delica", "RVR", "Canter", "Lancer"],
    "Suzuki": ["Swift", "Alto", "Every", "Jimny", "Escudo", "Solio", "Carry"],
    "Isuzu": ["Elf", "D-Max", "Forward"],
    "Daihatsu": ["Move", "Tanto", "Hijet", "Mira", "Terios"],
    "Lexus": ["RX", "NX", "IS", "LS"],
}

# (destination country, port name, UN/LOCODE). Landlocked countries list their transit ports.
PORTS = [
    ("KE", "Mombasa", "KEMBA"),
    ("UG", "Mombasa (transit to Uganda)", "KEMBA"),
    ("UG", "Dar es Salaam (transit to Uganda)", "TZDAR"),
    ("TZ", "Dar es Salaam", "TZDAR"),
    ("JM", "Kingston", "JMKIN"),
    ("TT", "Port of Spain", "TTPOS"),
    ("GY", "Georgetown", "GYGEO"),
    ("CL", "Iquique", "CLIQQ"),
    ("NZ", "Auckland", "NZAKL"),
    ("FJ", "Suva", "FJSUV"),
    ("ZA", "Durban", "ZADUR"),
    ("NA", "Walvis Bay", "NAWVB"),
    ("MZ", "Maputo", "MZMPM"),
    ("RU", "Vladivostok", "RUVVO"),
    ("MN", "Tianjin (transit to Mongolia)", "CNTXG"),
]

RULES = [
    dict(country="KE", kind="age_limit", max_age_years=8, age_basis="first_registration",
         source="Kenya Bureau of Standards, KS 1515 (vehicles under 8 years from first registration)",
         effective_from=date(2000, 1, 1)),
    dict(country="KE", kind="steering", steering_allowed="rhd",
         source="Kenya Traffic Act: right-hand-drive vehicles only", effective_from=date(2000, 1, 1)),
    dict(country="KE", kind="inspection", inspection_agency="QISJ (KEBS-appointed)",
         inspection_fee_jpy=30000,
         source="KEBS pre-export verification of conformity for used vehicles; fee is the exporter's "
                "usual charge and must be confirmed", effective_from=date(2000, 1, 1)),
    dict(country="RU", kind="export_ban_cc", engine_cc_above=1900, passenger_cars_only=True,
         source="Japan METI export ban to Russia, passenger cars over 1,900 cc (2023-08-09)",
         effective_from=date(2023, 8, 9)),
    dict(country="RU", kind="export_ban_fuel", banned_fuels="hybrid,phev,electric",
         source="Japan METI export ban to Russia, hybrid, plug-in hybrid and electric cars (2023-08-09)",
         effective_from=date(2023, 8, 9)),
    dict(country="RU", kind="export_ban_price", price_jpy_above=6_000_000,
         source="Japan METI luxury goods export ban to Russia, cars over JPY 6 million (2022-04)",
         effective_from=date(2022, 4, 5)),
    dict(country="UG", kind="age_limit", max_age_years=15, age_basis="manufacture",
         source="Uganda: vehicles older than 15 years from manufacture may not be imported",
         effective_from=date(2019, 1, 1)),
    dict(country="JM", kind="age_limit", max_age_years=6, age_basis="manufacture",
         source="Jamaica Trade Board: motor cars up to 6 years from manufacture",
         effective_from=date(2000, 1, 1)),
]


def load(apps, schema_editor):
    Make = apps.get_model("stock", "VehicleMake")
    Model = apps.get_model("stock", "VehicleModel")
    Port = apps.get_model("stock", "Port")
    Rule = apps.get_model("stock", "DestinationRule")
    for make_name, models in MAKES.items():
        make, _ = Make.objects.get_or_create(slug=slugify(make_name), defaults={"name": make_name})
        for model_name in models:
            Model.objects.get_or_create(make=make, slug=slugify(model_name), defaults={"name": model_name})
    for country, name, code in PORTS:
        Port.objects.get_or_create(country=country, code=code, defaults={"name": name})
    for rule in RULES:
        Rule.objects.get_or_create(country=rule["country"], kind=rule["kind"],
                                   effective_from=rule["effective_from"], defaults=rule)


class Migration(migrations.Migration):
    dependencies = [("stock", "0001_vehicles_and_pricing")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
