"""Who books with us in the demo: names, Manhattan/Brooklyn and Hamptons addresses, customers' notes."""

from __future__ import annotations

import random

from core.customers.services import AddressData, CustomerData

FIRST = ["Alex", "Jordan", "Taylor", "Morgan", "Casey", "Riley", "Avery", "Quinn", "Harper", "Emerson", "Sloane",
         "Blake", "Reese", "Parker", "Hayden", "Rowan", "Sasha", "Devon", "Logan", "Charlie", "Margot", "Theo",
         "Olivia", "Henry", "Isla", "Miles", "Clara", "Felix", "Nora", "Julian"]
LAST = ["Morgan", "Whitman", "Sterling", "Hale", "Vance", "Kensington", "Ashford", "Brooks", "Carrington",
        "Delaney", "Ellison", "Fairbanks", "Grayson", "Holloway", "Iverson", "Langley", "Mercer", "Prescott",
        "Radcliffe", "Thornton", "Van Allen", "Winslow", "Rhodes", "Castellano"]
NYC = [("245 East 72nd Street", "New York", "10021"), ("88 Perry Street", "New York", "10014"),
       ("15 Central Park West", "New York", "10023"), ("200 Chambers Street", "New York", "10007"),
       ("1 Main Street", "Brooklyn", "11201"), ("400 West End Avenue", "New York", "10024"),
       ("50 Riverside Boulevard", "New York", "10069"), ("135 East 79th Street", "New York", "10075")]
HAMPTONS = [("27 Further Lane", "East Hampton", "11937"), ("112 Job's Lane", "Southampton", "11968"),
            ("9 Ocean Road", "Bridgehampton", "11932"), ("45 Main Street", "Sag Harbor", "11963"),
            ("301 Dune Road", "Westhampton Beach", "11978"), ("18 Old Montauk Highway", "Montauk", "11954"),
            ("6 Sagaponack Road", "Sagaponack", "11962"), ("70 Daniels Lane", "Water Mill", "11976")]
NOTES = ["", "", "", "Doorman building, use service entrance.", "Call on arrival.", "Fragile artwork in two boxes.",
         "Elevator reserved 9–11 am.", "Gate code 4411."]


def customers(rng: random.Random, count: int) -> list[CustomerData]:
    people = []
    for i in range(count):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        people.append(CustomerData(
            name=f"{first} {last}",
            email=f"{first}.{last}.{i}@example.com".lower().replace(" ", ""),
            phone=f"+1212555{rng.randint(0, 9999):04d}",
        ))
    return people


def route(rng: random.Random) -> tuple[AddressData, AddressData]:
    """Pickup and drop-off: most moves go out to the Hamptons, the rest come back to the city."""
    city, beach = rng.choice(NYC), rng.choice(HAMPTONS)
    legs = (city, beach) if rng.random() < 0.6 else (beach, city)
    return tuple(AddressData(line1=line1, city=town, state="NY", zip_code=zip_code)  # type: ignore[return-value]
                 for line1, town, zip_code in legs)
