"""Load realistic Spanish demo data: accounts, their contacts and timelines, and a sales team.

    manage.py seed_demo [--accounts 200] [--seed 1] [--password demo-crm-2026]

Every identifier is valid: NIF/CIF/NIE carry the right check digits (python-stdnum), phones are
Spanish numbers in E.164 whose area code belongs to the account's province, postal codes start
with the province code. The same --seed gives the same records (their dates are relative to the
moment the command runs). Running it twice adds the accounts twice.

It is built for volume (100,000 accounts load in about a minute on SQLite): records are made
in memory a batch at a time and written with bulk_create inside one transaction, so memory stays
flat and a failure leaves nothing half-written. That is why it does not go through the
one-record services; it writes what they would write: the folded search text, one "created"
event per account, consent with its date and source.
"""

import random
import re
import time
from bisect import bisect
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import accumulate
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, reset_queries, transaction
from django.utils import timezone
from faker import Faker
from stdnum.es import cif, dni, nie

from crm.core.models import Channel, Sector
from crm.core.text import fold
from crm.customers.models import (
    Account,
    AccountEvent,
    AccountKind,
    ConsentSource,
    Contact,
    EventKind,
    Lifecycle,
    SizeSegment,
    Tag,
)
from crm.users.models import Role, Team, User
from crm.users.services import team_save, user_create


def _words(text: str) -> tuple[str, ...]:
    """'Ana, José Luis,\n Eva' -> ('Ana', 'José Luis', 'Eva'): long word lists stay readable."""
    return tuple(" ".join(word.split()) for word in text.split(",") if word.strip())


def _word_table(text: str) -> dict[str, tuple[str, ...]]:
    """'Key: a, b' lines (indented lines go on) -> {'Key': ('a', 'b')}."""
    table: dict[str, str] = {}
    key = ""
    for line in text.strip().splitlines():
        if line.startswith(" "):
            table[key] += " " + line
        else:
            key, _colon, words = line.partition(":")
            table[key] = words
    return {key: _words(words) for key, words in table.items()}


# Passes Django's password validators; documented in docs/PERFORMANCE.md and printed on use.
DEMO_PASSWORD = "demo-crm-2026"  # noqa: S105 - a documented demo password, not a secret
BATCH_SIZE = 1000  # accounts per round trip; their contacts and events go with them
HISTORY_DAYS = 3 * 365  # accounts were created over the last three years

# Team name -> (manager, reps); each person is (username, first name, last name).
DEMO_TEAMS = {
    "Norte": (
        ("marta.iglesias", "Marta", "Iglesias"),
        [
            ("ana.garcia", "Ana", "García"),
            ("iker.etxeberria", "Iker", "Etxeberria"),
            ("javier.lopez", "Javier", "López"),
        ],
    ),
    "Sur": (
        ("manuel.romero", "Manuel", "Romero"),
        [
            ("lucia.fernandez", "Lucía", "Fernández"),
            ("pablo.moreno", "Pablo", "Moreno"),
        ],
    ),
}

# Each province: "code weight area-codes", the weight being about its population in 100,000s;
# then its places, "City first-postal-code[+how many consecutive codes it spans]".
PROVINCE_TABLE = """
01 3 945
    Vitoria-Gasteiz 01001+15; Llodio 01400; Amurrio 01470
02 4 967
    Albacete 02001+8; Hellín 02400; Villarrobledo 02600; Almansa 02640
03 19 965 966
    Alicante 03001+16; Elche 03201+8; Benidorm 03501+3; Alcoy 03801+4; Torrevieja 03181+5
    Orihuela 03300; Dénia 03700
04 7 950
    Almería 04001+10; El Ejido 04700; Roquetas de Mar 04740; Níjar 04100
05 2 920
    Ávila 05001+5; Arévalo 05200; Las Navas del Marqués 05230
06 7 924
    Badajoz 06001+11; Mérida 06800; Don Benito 06400; Almendralejo 06200; Zafra 06300
07 12 971
    Palma 07001+15; Manacor 07500; Inca 07300; Eivissa 07800; Maó 07701+3
08 57 93
    Barcelona 08001+42; L'Hospitalet de Llobregat 08901+8; Badalona 08911+8; Terrassa 08221+7
    Sabadell 08201+8; Mataró 08301+4; Manresa 08240+3; Granollers 08400+3; Vic 08500
    Sant Cugat del Vallès 08172+3
09 4 947
    Burgos 09001+7; Miranda de Ebro 09200; Aranda de Duero 09400; Briviesca 09240
10 4 927
    Cáceres 10001+5; Plasencia 10600; Navalmoral de la Mata 10300; Trujillo 10200
11 12 956
    Cádiz 11001+12; Jerez de la Frontera 11401+8; Algeciras 11201+7; San Fernando 11100
    El Puerto de Santa María 11500; Sanlúcar de Barrameda 11540
12 6 964
    Castellón de la Plana 12001+6; Vila-real 12540; Burriana 12530; Vinaròs 12500
13 5 926
    Ciudad Real 13001+5; Puertollano 13500; Tomelloso 13700; Valdepeñas 13300
    Alcázar de San Juan 13600
14 8 957
    Córdoba 14001+14; Lucena 14900; Puente Genil 14500; Montilla 14550; Cabra 14940
15 11 981
    A Coruña 15001+11; Santiago de Compostela 15701+5; Ferrol 15401+5; Narón 15570
    Carballo 15100
16 2 969
    Cuenca 16001+4; Tarancón 16400; San Clemente 16600
17 8 972
    Girona 17001+7; Figueres 17600; Blanes 17300; Lloret de Mar 17310; Olot 17800
18 9 958
    Granada 18001+14; Motril 18600; Almuñécar 18690; Loja 18300; Baza 18800
19 3 949
    Guadalajara 19001+5; Azuqueca de Henares 19200; Sigüenza 19250
20 7 943
    Donostia-San Sebastián 20001+18; Irun 20300+5; Eibar 20600; Zarautz 20800; Errenteria 20100
21 5 959
    Huelva 21001+7; Lepe 21440; Moguer 21800; Almonte 21730
22 2 974
    Huesca 22001+6; Monzón 22400; Jaca 22700; Barbastro 22300; Fraga 22520
23 6 953
    Jaén 23001+9; Linares 23700; Úbeda 23400; Andújar 23740; Martos 23600
24 5 987
    León 24001+10; Ponferrada 24400; Astorga 24700; La Bañeza 24750
25 4 973
    Lleida 25001+8; Tàrrega 25300; Balaguer 25600; Mollerussa 25230
26 3 941
    Logroño 26001+9; Calahorra 26500; Arnedo 26580; Haro 26200
27 3 982
    Lugo 27001+5; Monforte de Lemos 27400; Viveiro 27850; Vilalba 27800
28 68 91
    Madrid 28001+55; Móstoles 28931+8; Alcalá de Henares 28801+7; Fuenlabrada 28940+4
    Leganés 28911+8; Getafe 28901+9; Alcorcón 28921+4; Torrejón de Ardoz 28850; Alcobendas 28100
    Las Rozas de Madrid 28230+2; Pozuelo de Alarcón 28223+2
29 17 952
    Málaga 29001+18; Marbella 29600+4; Vélez-Málaga 29700; Fuengirola 29640; Torremolinos 29620
    Estepona 29680; Ronda 29400; Antequera 29200
30 15 968
    Murcia 30001+12; Cartagena 30201+5; Lorca 30800; Molina de Segura 30500; Yecla 30510
    Águilas 30880
31 7 948
    Pamplona 31001+15; Tudela 31500; Estella-Lizarra 31200; Burlada 31600
32 3 988
    Ourense 32001+5; Verín 32600; O Barco de Valdeorras 32300; O Carballiño 32500
33 10 985
    Oviedo 33001+13; Gijón 33201+13; Avilés 33400+3; Pola de Siero 33510; Mieres 33600
    Langreo 33900
34 2 979
    Palencia 34001+5; Aguilar de Campoo 34800; Guardo 34880; Venta de Baños 34200
35 11 928
    Las Palmas de Gran Canaria 35001+19; Telde 35200; Arrecife 35500; Puerto del Rosario 35600
    Santa Lucía de Tirajana 35110
36 9 986
    Pontevedra 36001+5; Vigo 36201+15; Vilagarcía de Arousa 36600; Redondela 36800; Cangas 36940
37 3 923
    Salamanca 37001+9; Béjar 37700; Ciudad Rodrigo 37500; Santa Marta de Tormes 37900
38 10 922
    Santa Cruz de Tenerife 38001+11; San Cristóbal de La Laguna 38201+6; Arona 38640
    Adeje 38670; Puerto de la Cruz 38400; Santa Cruz de La Palma 38700
39 6 942
    Santander 39001+12; Torrelavega 39300; Castro-Urdiales 39700; Laredo 39770
40 2 921
    Segovia 40001+6; Cuéllar 40200; El Espinar 40400
41 19 954 955
    Sevilla 41001+20; Dos Hermanas 41700+2; Alcalá de Guadaíra 41500; Utrera 41710; Écija 41400
    Carmona 41410
42 1 975
    Soria 42001+5; Almazán 42200; El Burgo de Osma 42300
43 8 977
    Tarragona 43001+8; Reus 43201+6; Tortosa 43500; Cambrils 43850; Salou 43840; Valls 43800
44 1 978
    Teruel 44001+3; Alcañiz 44600; Andorra 44500; Calamocha 44200
45 7 925
    Toledo 45001+8; Talavera de la Reina 45600; Illescas 45200; Seseña 45223; Torrijos 45500
46 26 961 962 963
    Valencia 46001+26; Torrent 46900; Gandia 46701+2; Paterna 46980; Sagunto 46500; Alzira 46600
    Xàtiva 46800; Ontinyent 46870
47 5 983
    Valladolid 47001+15; Medina del Campo 47400; Laguna de Duero 47140; Tordesillas 47100
48 11 944 946
    Bilbao 48001+15; Barakaldo 48901+3; Getxo 48990+4; Portugalete 48920; Santurtzi 48980
    Basauri 48970; Durango 48200
49 2 980
    Zamora 49001+5; Benavente 49600; Toro 49800
50 10 976
    Zaragoza 50001+20; Calatayud 50300; Utebo 50180; Ejea de los Caballeros 50600
    Tarazona 50500
51 1 956
    Ceuta 51001+5
52 1 952
    Melilla 52001+6
"""


def _parse_provinces(
    table: str,
) -> dict[str, tuple[int, tuple[str, ...], list[tuple[str, str, int]]]]:
    provinces: dict[str, tuple[int, tuple[str, ...], list[tuple[str, str, int]]]] = {}
    code = ""
    for line in table.strip().splitlines():
        if not line.startswith(" "):
            code, weight, *area_codes = line.split()
            provinces[code] = (int(weight), tuple(area_codes), [])
            continue
        for place in line.split(";"):
            city, postal = place.strip().rsplit(" ", 1)
            first, _plus, span = postal.partition("+")
            provinces[code][2].append((city, first, int(span or 1)))
    return provinces


PROVINCE_DATA = _parse_provinces(PROVINCE_TABLE)

MALE_NAMES = _words(
    """
    Antonio, Manuel, José, Francisco, David, Juan, Javier, José Luis, Daniel, Carlos, Jesús,
    Alejandro, Miguel, Rafael, Pablo, Sergio, Pedro, Ángel, Fernando, Luis, Jorge, Alberto,
    Álvaro, Diego, Adrián, Raúl, Iván, Rubén, Óscar, Enrique, Andrés, Ramón, Vicente, Joaquín,
    Santiago, Víctor, Mario, Roberto, Jaime, Ignacio, Marcos, Alfonso, Hugo, Iker, Jordi,
    Xavier
"""
)
FEMALE_NAMES = _words(
    """
    María Carmen, María, Carmen, Ana María, Laura, María Pilar, María Dolores, Isabel, Josefa,
    Marta, Cristina, Lucía, Ana, Sara, Paula, Elena, Raquel, Rosa, Sonia, Patricia, Beatriz,
    Nuria, Silvia, Julia, Irene, Alba, Andrea, Sofía, Claudia, Teresa, Montserrat, Pilar,
    Rocío, Inmaculada, Mercedes, Nerea, Ainhoa, Noelia, Eva, Natalia, Alicia, Marina, Begoña
"""
)
COMMON_SURNAMES = _words(
    """
    García, Rodríguez, González, Fernández, López, Martínez, Sánchez, Pérez, Gómez, Martín,
    Jiménez, Ruiz, Hernández, Díaz, Moreno, Muñoz, Álvarez, Romero, Alonso, Gutiérrez,
    Navarro, Torres, Domínguez, Vázquez, Ramos, Gil, Ramírez, Serrano, Blanco, Molina,
    Morales, Suárez, Ortega, Delgado, Castro, Ortiz, Rubio, Marín, Sanz, Núñez, Iglesias,
    Medina, Garrido
"""
)
FANTASY = _words(
    """
    Atlántico, Mediterráneo, Iberia, Levante, Cantábrico, Alba, Nova, Olivo, Horizonte,
    Aurora, Sol, Ribera, Castilla, Norte, Ebro, Duero, Guadalquivir, Miño, Tajo, Costa Brava,
    Pirineo, Moncayo, Teide, Alhambra, Giralda, Bahía, Faro, Valle, Vega, Campiña, Roble,
    Encina, Almendro, Azahar, Estrella, Brisa, Sierra Nevada, Picos de Europa, La Mancha,
    Mare Nostrum, Peñíscola
"""
)
# Words that start a company's name, by the sector names the migration creates.
SECTOR_WORDS = _word_table(
    """
Comercio: Distribuciones, Comercial, Suministros, Ferretería, Papelería, Almacenes,
    Electrodomésticos, Muebles
Hostelería y turismo: Restaurante, Hostal, Hotel, Cafetería, Viajes, Catering, Asador
Construcción: Construcciones, Reformas, Excavaciones, Estructuras, Instalaciones Eléctricas,
    Fontanería, Carpintería
Industria: Talleres, Industrias, Metalúrgica, Plásticos, Carpintería Metálica, Mecanizados,
    Componentes
Servicios profesionales: Asesoría, Gestoría, Consultores, Abogados, Ingeniería, Arquitectura,
    Auditores
Salud: Clínica Dental, Centro Médico, Fisioterapia, Farmacia, Óptica, Clínica Veterinaria
Educación: Academia, Escuela Infantil, Autoescuela, Centro de Formación, Idiomas
Tecnología: Soluciones Informáticas, Sistemas, Software, Telecomunicaciones, Informática,
    Desarrollos Digitales
Transporte y logística: Transportes, Logística, Mudanzas, Mensajería, Grúas
Agricultura y alimentación: Bodegas, Conservas, Aceites, Frutas, Panadería, Embutidos, Quesos
Inmobiliaria: Inmobiliaria, Promociones, Fincas, Administración de Fincas, Gestión Patrimonial
Otros: Limpiezas, Servicios Integrales, Seguridad, Jardinería, Eventos, Imprenta
"""
)
GENERIC_WORDS = ("Servicios", "Comercial", "Grupo", "Soluciones", "Gestión")
SECTOR_WEIGHTS = {
    "Comercio": 20,
    "Hostelería y turismo": 14,
    "Construcción": 12,
    "Industria": 8,
    "Servicios profesionales": 14,
    "Salud": 6,
    "Educación": 4,
    "Tecnología": 7,
    "Transporte y logística": 6,
    "Agricultura y alimentación": 6,
    "Inmobiliaria": 4,
    "Administración pública": 0,
    "Otros": 5,
}
CHANNEL_WEIGHTS = {
    "Web": 25,
    "Teléfono": 15,
    "Recomendación": 15,
    "Feria": 8,
    "Redes sociales": 10,
    "E-mail": 8,
    "Visita comercial": 12,
    "Importación": 5,
    "API": 2,
}
COOPERATIVES = (
    ("Agrícola", "Agricultura y alimentación"),
    ("Olivarera", "Agricultura y alimentación"),
    ("Vinícola", "Agricultura y alimentación"),
    ("Hortofrutícola", "Agricultura y alimentación"),
    ("Ganadera", "Agricultura y alimentación"),
    ("de Transportes", "Transporte y logística"),
    ("de Enseñanza", "Educación"),
    ("de Viviendas", "Inmobiliaria"),
)
ASSOCIATIONS = ("Asociación de Comerciantes de", "Asociación Cultural de", "Club Deportivo")
STREET_TYPES = (
    ("Calle", 60),
    ("Avenida", 15),
    ("Plaza", 6),
    ("Paseo", 5),
    ("Camino", 3),
    ("Ronda", 3),
    ("Travesía", 3),
    ("Carretera", 2),
)
STREET_NAMES = _words(
    """
    Mayor, Real, de la Constitución, Gran Vía, del Sol, de Cervantes, de Colón, de la Paz, de
    San Francisco, de Santa María, de Alfonso XIII, del Carmen, de Andalucía, de la Estación,
    Nueva, del Mar, de los Reyes Católicos, de Goya, de Velázquez, de Blasco Ibáñez, de la
    Libertad, del Pilar, de San Antonio, del Doctor Fleming, de Ramón y Cajal, de Lope de
    Vega, de Antonio Machado, de Federico García Lorca, de la Industria, del Comercio, de
    Castilla, de Aragón, del Puerto, de las Flores, del Río, de Europa, de la Iglesia, del
    Generalife
"""
)
POLYGONS = _words(
    """
    Los Olivos, San Isidro, La Estación, El Campillo, Las Arenas, Norte, Sur, La Fuensanta,
    Santa Ana, El Pla
"""
)
FREE_MAIL = ("gmail.com", "hotmail.com", "yahoo.es", "outlook.es", "telefonica.net")
MAILBOXES = ("info", "contacto", "administracion", "ventas", "pedidos", "hola")
# (male, female) pairs; the first list is for an account's main contact.
BOSS_POSITIONS = (
    ("Gerente", "Gerente"),
    ("Director general", "Directora general"),
    ("Socio fundador", "Socia fundadora"),
    ("Propietario", "Propietaria"),
)
STAFF_POSITIONS = (
    ("Responsable de compras", "Responsable de compras"),
    ("Director comercial", "Directora comercial"),
    ("Administrativo", "Administrativa"),
    ("Jefe de obra", "Jefa de obra"),
    ("Responsable de contabilidad", "Responsable de contabilidad"),
    ("Técnico de mantenimiento", "Técnica de mantenimiento"),
    ("Director financiero", "Directora financiera"),
    ("Responsable de marketing", "Responsable de marketing"),
)
TAGS = _words(
    """
    VIP, Kit Digital, Feria 2025, Newsletter, Distribuidor, Exportador, Recomendado,
    Renovación anual, Impagos, Sector público
"""
)
NOTES = (
    "Pide presupuesto cada año en septiembre.",
    "Prefiere que le llamen por la mañana.",
    "Conocido en la feria del sector; interesado en el servicio de mantenimiento.",
    "Pago por transferencia a 30 días.",
    "Tiene otra sede en la provincia; preguntar por la persona de compras.",
    "Cliente recomendado por un socio.",
)
CONSENT_SOURCES = tuple(
    (value, w) for value, w in zip(ConsentSource.values, (35, 20, 15, 15, 5, 10), strict=True)
)


class Weighted:
    """Pick from values by weight, fast (the cumulative weights are computed once)."""

    def __init__(self, pairs: Iterable[tuple[Any, float]]):
        kept = [(value, weight) for value, weight in pairs if weight > 0]
        self.values = [value for value, _weight in kept]
        self.cumulative = list(accumulate(weight for _value, weight in kept))
        self.total = self.cumulative[-1] if kept else 0

    def pick(self, rng: random.Random) -> Any:
        """A value, or None when there are none (an installation without channels)."""
        if not self.values:
            return None
        return self.values[bisect(self.cumulative, rng.random() * self.total)]


LEGAL_FORMS = Weighted(
    [
        (("S.L.", "B"), 55),
        (("S.L.U.", "B"), 8),
        (("S.A.", "A"), 9),
        (("cooperative", "F"), 6),
        (("C.B.", "E"), 6),
        (("S.C.", "J"), 2),
        (("association", "G"), 3),
        (("town hall", "P"), 1),
    ]
)
SIZES_BY_FORM = {
    "S.A.": Weighted(zip(SizeSegment.values, (5, 25, 40, 30), strict=True)),
    "cooperative": Weighted(zip(SizeSegment.values, (10, 40, 40, 10), strict=True)),
    "C.B.": Weighted(zip(SizeSegment.values, (80, 20, 0, 0), strict=True)),
    "S.C.": Weighted(zip(SizeSegment.values, (80, 20, 0, 0), strict=True)),
    "association": Weighted(zip(SizeSegment.values, (60, 30, 10, 0), strict=True)),
    "town hall": Weighted(zip(SizeSegment.values, (0, 10, 50, 40), strict=True)),
}
DEFAULT_SIZES = Weighted(zip(SizeSegment.values, (45, 35, 15, 5), strict=True))
LIFECYCLES = Weighted([(Lifecycle.PROSPECT, 65), (Lifecycle.CUSTOMER, 28), (Lifecycle.INACTIVE, 7)])
NAME_PATTERNS = Weighted(
    [
        ("{word} {surname}", 30),
        ("{word} {surname} y {surname2}", 8),
        ("{word} {surname} e Hijos", 6),
        ("{word} Hermanos {surname}", 5),
        ("{word} {fantasy}", 20),
        ("{fantasy} {word}", 8),
        ("{word} {city}", 10),
    ]
)
STREETS = Weighted(STREET_TYPES)
CONTACTS_PER_ACCOUNT = Weighted([(1, 50), (2, 35), (3, 15)])
CONSENTS = Weighted(CONSENT_SOURCES)


def slug(value: str) -> str:
    """ASCII letters and digits only: 'Muñoz y Peña' -> 'munozypena' (for e-mails and domains)."""
    return re.sub(r"[^a-z0-9]+", "", fold(value))


@dataclass
class Place:
    province: str
    city: str
    postal_code: str
    area_code: str


@dataclass
class Pending:
    """An account made in memory with what is written after it has its id."""

    account: Account
    contacts: list[Contact] = field(default_factory=list)
    tag_ids: list[int] = field(default_factory=list)
    shared_with_id: int | None = None


class DemoData:
    """Makes accounts and contacts in memory; deterministic for a seed and a start time."""

    def __init__(
        self,
        *,
        seed: int,
        total: int,
        now: datetime,
        sellers: list[User],
        sectors: list[Sector],
        channels: list[Channel],
        tags: list[Tag],
    ):
        self.rng = random.Random(seed)
        self.total = total
        self.now = now
        faker = Faker("es_ES")
        faker.seed_instance(seed)
        # Faker adds the long tail of surnames; the common ones appear as often as in Spain.
        rare = sorted({faker.last_name() for _ in range(400)})
        self.surnames = Weighted(
            [(name, 6) for name in COMMON_SURNAMES] + [(name, 1) for name in rare]
        )
        self.provinces = Weighted(
            [(code, weight) for code, (weight, _areas, _places) in PROVINCE_DATA.items()]
        )
        self.places = {
            code: Weighted([(place, place[2] + 2) for place in places])
            for code, (_weight, _areas, places) in PROVINCE_DATA.items()
        }
        self.sectors = Weighted([(s, SECTOR_WEIGHTS.get(s.name, 3)) for s in sectors])
        self.sectors_by_name = {s.name: s for s in sectors}
        self.channels = Weighted([(c, CHANNEL_WEIGHTS.get(c.name, 5)) for c in channels])
        self.sellers = Weighted([(u, 1 if u.role == Role.MANAGER else 6) for u in sellers])
        self.seller_ids = [u.pk for u in sellers]
        self.tag_ids = [t.pk for t in tags]
        # Identifiers are unique by construction: n -> (a*n + b) mod m is a bijection when
        # a and m are coprime, so up to m accounts never share a number.
        self.mult = self.rng.randrange(1, 10**5) * 10 + self.rng.choice((1, 3, 7, 9))
        self.offset = self.rng.randrange(10**8)

    # -- small pieces -------------------------------------------------------------------

    def _unique(self, index: int, modulo: int) -> int:
        return (self.mult * index + self.offset) % modulo

    def _place(self) -> Place:
        code = self.provinces.pick(self.rng)
        city, first_code, span = self.places[code].pick(self.rng)
        postal_code = f"{int(first_code) + self.rng.randrange(span):05d}"
        area_code = self.rng.choice(PROVINCE_DATA[code][1])
        return Place(code, city, postal_code, area_code)

    def _landline(self, area_code: str) -> str:
        # Subscriber numbers do not start with 0 or 1 (nor 9: 969 06... is not a landline).
        rest = 9 - len(area_code) - 1
        return f"+34{area_code}{self.rng.randint(2, 8)}{self.rng.randrange(10**rest):0{rest}d}"

    def _mobile(self) -> str:
        prefix = "6" if self.rng.random() < 0.85 else f"7{self.rng.randint(1, 4)}"
        rest = 9 - len(prefix)
        return f"+34{prefix}{self.rng.randrange(10**rest):0{rest}d}"

    def _person(self) -> tuple[str, str, bool]:
        female = self.rng.random() < 0.5
        first = self.rng.choice(FEMALE_NAMES if female else MALE_NAMES)
        last = f"{self.surnames.pick(self.rng)} {self.surnames.pick(self.rng)}"
        return first, last, female

    def _street(self, industrial: bool) -> str:
        if industrial and self.rng.random() < 0.6:
            return (
                f"Polígono Industrial {self.rng.choice(POLYGONS)}, nave {self.rng.randint(1, 60)}"
            )
        street = f"{STREETS.pick(self.rng)} {self.rng.choice(STREET_NAMES)}"
        number = self.rng.randint(1, 180)
        if self.rng.random() < 0.3:
            return f"{street}, {number}, {self.rng.randint(1, 8)}º {self.rng.choice('ABCD')}"
        return f"{street}, {number}"

    def _created_at(self, index: int) -> datetime:
        """Older accounts have lower ids, as in a database that grew over three years."""
        age = HISTORY_DAYS * (1 - (index + 1) / self.total)
        jitter = self.rng.uniform(0, 2)
        return self.now - timedelta(days=age + jitter, seconds=self.rng.randrange(86400))

    def _cif(self, letter: str, province: str, index: int) -> str:
        body = f"{letter}{province}{self._unique(index, 10**5):05d}"
        digit, char = cif.calc_check_digits(body)
        # Public bodies (P, Q, S...) carry a letter; companies (A, B, E...) a digit.
        return body + (char if letter in "KPQSNW" else digit)

    def _personal_nif(self, index: int) -> str:
        if self.rng.random() < 0.15:
            body = f"{self.rng.choice('XYZ')}{self._unique(index, 10**7):07d}"
            return body + nie.calc_check_digit(body)
        body = f"{self._unique(index, 10**8):08d}"
        return body + dni.calc_check_digit(body)

    # -- records ------------------------------------------------------------------------

    def account(self, index: int) -> Pending:
        rng = self.rng
        place = self._place()
        owner = self.sellers.pick(rng)
        created = self._created_at(index)
        account = Account(
            lifecycle=LIFECYCLES.pick(rng),
            channel=self.channels.pick(rng),
            owner=owner,
            team_id=owner.team_id,
            billing_postal_code=place.postal_code,
            billing_city=place.city,
            billing_province=place.province,
            billing_country="ES",
            created_by=owner,
            updated_by=owner,
            created_at=created,
            updated_at=min(self.now, created + timedelta(days=rng.uniform(0, 120))),
        )
        if rng.random() < 0.2:
            person = self._individual(account, place, index)
            contacts = [self._contact_of_individual(account, person)]
        else:
            domain = self._company(account, place, index)
            contacts = self._contacts_of_company(account, domain)
        if rng.random() < 0.1:
            account.notes = rng.choice(NOTES)
        account.refresh_search_text()
        pending = Pending(account=account)
        if self.tag_ids and rng.random() < 0.35:
            pending.tag_ids = rng.sample(self.tag_ids, k=min(len(self.tag_ids), rng.randint(1, 2)))
        if len(self.seller_ids) > 1 and rng.random() < 0.03:
            pending.shared_with_id = rng.choice([i for i in self.seller_ids if i != owner.pk])
        pending.contacts = [self._finish_contact(account, n, c) for n, c in enumerate(contacts)]
        return pending

    def _company(self, account: Account, place: Place, index: int) -> str:
        """A company, association or public body; returns its web domain."""
        rng = self.rng
        form, letter = LEGAL_FORMS.pick(rng)
        sector = None
        if form == "cooperative":
            kind, sector_name = rng.choice(COOPERATIVES)
            core = f"Cooperativa {kind} {rng.choice(FANTASY)}"
            name = core
            sector = self.sectors_by_name.get(sector_name)
        elif form == "association":
            core = f"{rng.choice(ASSOCIATIONS)} {place.city}"
            name = core
            sector = self.sectors_by_name.get("Otros")
        elif form == "town hall":
            core = f"Ayuntamiento de {place.city}"
            name = core
            sector = self.sectors_by_name.get("Administración pública")
        else:
            sector = self.sectors.pick(rng)
            words = SECTOR_WORDS.get(sector.name, GENERIC_WORDS) if sector else GENERIC_WORDS
            core = NAME_PATTERNS.pick(rng).format(
                word=rng.choice(words),
                surname=self.surnames.pick(rng),
                surname2=self.surnames.pick(rng),
                fantasy=rng.choice(FANTASY),
                city=place.city,
            )
            name = f"{core} {form}"
        domain = f"{slug(core)[:40]}.{'es' if rng.random() < 0.7 else 'com'}"
        account.kind = AccountKind.COMPANY
        account.name = name
        account.nif = self._cif(letter, place.province, index)
        account.sector = sector
        account.size_segment = SIZES_BY_FORM.get(form, DEFAULT_SIZES).pick(rng)
        account.email = f"{rng.choice(MAILBOXES)}@{domain}"
        account.website = f"https://www.{domain}" if rng.random() < 0.6 else ""
        roll = rng.random()
        if roll < 0.72:
            account.phone = self._landline(place.area_code)
        elif roll < 0.97:
            account.phone = self._mobile()
        industrial = sector is not None and sector.name in {"Industria", "Construcción"}
        account.billing_street = self._street(industrial)
        return domain

    def _individual(self, account: Account, place: Place, index: int) -> tuple[str, str]:
        """An autónomo: a person who invoices in their own name, with their DNI or NIE."""
        rng = self.rng
        first, last, female = self._person()
        sector = self.sectors.pick(rng)
        account.kind = AccountKind.INDIVIDUAL
        account.name = f"{first} {last}"
        account.nif = self._personal_nif(index)
        account.sector = sector
        account.size_segment = SizeSegment.MICRO
        number = rng.randint(1, 99) if rng.random() < 0.4 else ""
        account.email = f"{slug(first)}.{slug(last.split()[0])}{number}@{rng.choice(FREE_MAIL)}"
        account.phone = self._mobile() if rng.random() < 0.8 else self._landline(place.area_code)
        account.billing_street = self._street(industrial=False)
        return first, last

    def _contact_of_individual(self, account: Account, person: tuple[str, str]) -> Contact:
        first, last = person
        mobile = account.phone if account.phone.startswith(("+346", "+347")) else ""
        return Contact(
            first_name=first, last_name=last, position="Titular", email=account.email, mobile=mobile
        )

    def _contacts_of_company(self, account: Account, domain: str) -> list[Contact]:
        rng = self.rng
        contacts = []
        for number in range(CONTACTS_PER_ACCOUNT.pick(rng)):
            first, last, female = self._person()
            position = rng.choice(BOSS_POSITIONS if number == 0 else STAFF_POSITIONS)
            email = ""
            if rng.random() < 0.8:
                surname = slug(last.split()[0])
                if rng.random() < 0.7:
                    email = f"{slug(first)}.{surname}@{domain}"
                else:
                    email = f"{slug(first)[0]}{surname}@{domain}"
            contacts.append(
                Contact(
                    first_name=first,
                    last_name=last,
                    position=position[1 if female else 0],
                    email=email,
                    phone=account.phone if rng.random() < 0.3 else "",
                    mobile=self._mobile() if rng.random() < 0.8 else "",
                )
            )
        return contacts

    def _finish_contact(self, account: Account, number: int, contact: Contact) -> Contact:
        """Dates, consent, ownership and search text, the same for every kind of contact."""
        rng = self.rng
        created = account.created_at
        if number:
            created = min(self.now, created + timedelta(days=rng.uniform(0, 200)))
        contact.is_primary = number == 0
        contact.is_active = rng.random() < 0.95
        contact.created_by_id = contact.updated_by_id = account.owner_id
        contact.created_at = contact.updated_at = created
        if rng.random() < 0.35:
            # GDPR: consent always says when and how it was given (a check constraint too).
            contact.marketing_consent = True
            seconds = max(1, int((self.now - created).total_seconds()))
            contact.marketing_consent_at = created + timedelta(seconds=rng.randrange(seconds))
            contact.marketing_consent_source = CONSENTS.pick(rng)
        contact.refresh_search_text()
        return contact


@contextmanager
def explicit_timestamps(*models) -> Iterator[None]:
    """Let bulk_create keep the created_at/updated_at we give (auto_now would overwrite them)."""
    fields = [
        f
        for model in models
        for f in model._meta.concrete_fields
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    ]
    saved = [(f, f.auto_now, f.auto_now_add) for f in fields]
    for f in fields:
        f.auto_now = f.auto_now_add = False
    try:
        yield
    finally:
        for f, auto_now, auto_now_add in saved:
            f.auto_now, f.auto_now_add = auto_now, auto_now_add


@contextmanager
def sqlite_cache(kib: int = 128 * 1024) -> Iterator[None]:
    """A larger SQLite page cache while loading (the default is 2 MB).

    Every insert updates a dozen indexes at random places; with the default cache those pages
    keep leaving and coming back, and the load is about a quarter slower.
    """
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        (previous,) = cursor.fetchone()
        cursor.execute(f"PRAGMA cache_size = -{int(kib)}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(previous)}")


class Command(BaseCommand):
    help = (
        "Load realistic Spanish demo data (accounts, contacts, timelines). Creates a demo "
        f"sales team (password {DEMO_PASSWORD!r} unless --password) when there are no sales reps."
    )

    def add_arguments(self, parser):
        parser.add_argument("--accounts", type=int, default=200, help="How many (default 200).")
        parser.add_argument("--seed", type=int, default=1, help="Same seed, same data.")
        parser.add_argument(
            "--password",
            default=DEMO_PASSWORD,
            help=f"Password of the demo users it creates (default {DEMO_PASSWORD!r}).",
        )

    def handle(self, *args, accounts: int, seed: int, password: str, **options):
        if accounts < 0:
            raise CommandError("--accounts must be 0 or more.")
        started = time.monotonic()
        created_users = self._demo_organisation(password)
        sellers = list(
            User.objects.filter(is_active=True, role__in=[Role.SALES, Role.MANAGER]).order_by("pk")
        )
        if not sellers:
            raise CommandError("There are no active sales users to own the accounts.")
        tags = [Tag.objects.get_or_create(name=name)[0] for name in TAGS]
        data = DemoData(
            seed=seed,
            total=max(accounts, 1),
            now=timezone.now(),
            sellers=sellers,
            sectors=list(Sector.objects.filter(is_active=True).order_by("pk")),
            channels=list(Channel.objects.filter(is_active=True).order_by("pk")),
            tags=tags,
        )
        with sqlite_cache():
            counts = self._load(data, accounts, verbose=options["verbosity"] > 1)
        self._analyze()
        elapsed = time.monotonic() - started
        if created_users:
            self.stdout.write(f"Demo users (password {password!r}):")
            for user in created_users:
                team = user.team.name if user.team else "-"
                self.stdout.write(f"  {user.username:<18} {user.get_role_display()} · {team}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Created {counts['accounts']} accounts, {counts['contacts']} contacts "
                f"({counts['consents']} with marketing consent), {counts['events']} events, "
                f"{counts['tags']} tag links, {counts['shares']} shares, "
                f"{len(created_users)} users in {elapsed:.1f} s."
            )
        )

    def _demo_organisation(self, password: str) -> list[User]:
        """Teams Norte and Sur with a manager and a few reps each, if there is no sales rep."""
        if User.objects.filter(role=Role.SALES, is_active=True).exists():
            return []
        created = []
        try:
            with transaction.atomic():
                for team_name, (manager_data, reps) in DEMO_TEAMS.items():
                    team = Team.objects.filter(name=team_name).first() or team_save(
                        team=Team(), name=team_name, manager=None
                    )
                    manager = self._user(manager_data, Role.MANAGER, team, password, created)
                    team_save(team=team, name=team.name, manager=manager)
                    for rep in reps:
                        self._user(rep, Role.SALES, team, password, created)
        except ValidationError as exc:
            raise CommandError(f"Cannot create the demo users: {exc}") from exc
        return created

    def _user(self, person, role, team, password, created) -> User:
        username, first_name, last_name = person
        existing = User.objects.filter(username=username).first()
        if existing:
            return existing
        user = user_create(
            actor=None,
            fields={
                "username": username,
                "first_name": first_name,
                "last_name": last_name,
                "email": f"{username}@example.com",
                "role": role,
                "team": team,
            },
            password=password,
        )
        created.append(user)
        return user

    def _load(self, data: DemoData, total: int, *, verbose: bool) -> dict[str, int]:
        counts = dict.fromkeys(("accounts", "contacts", "consents", "events", "tags", "shares"), 0)
        tag_link = Account.tags.through
        share_link = Account.shared_with.through
        with transaction.atomic(), explicit_timestamps(Account, Contact, AccountEvent):
            for start in range(0, total, BATCH_SIZE):
                batch = [data.account(i) for i in range(start, min(total, start + BATCH_SIZE))]
                Account.objects.bulk_create([p.account for p in batch])
                contacts, events, tag_links, shares = [], [], [], []
                for pending in batch:
                    account = pending.account
                    for contact in pending.contacts:
                        contact.account_id = account.pk
                        contacts.append(contact)
                    events.append(
                        AccountEvent(
                            account_id=account.pk,
                            kind=EventKind.CREATED,
                            actor_id=account.created_by_id,
                            created_at=account.created_at,
                        )
                    )
                    tag_links += [
                        tag_link(account_id=account.pk, tag_id=tag_id) for tag_id in pending.tag_ids
                    ]
                    if pending.shared_with_id:
                        shares.append(
                            share_link(account_id=account.pk, user_id=pending.shared_with_id)
                        )
                Contact.objects.bulk_create(contacts)
                AccountEvent.objects.bulk_create(events)
                tag_link.objects.bulk_create(tag_links)
                share_link.objects.bulk_create(shares)
                counts["accounts"] += len(batch)
                counts["contacts"] += len(contacts)
                counts["consents"] += sum(c.marketing_consent for c in contacts)
                counts["events"] += len(events)
                counts["tags"] += len(tag_links)
                counts["shares"] += len(shares)
                reset_queries()  # with DEBUG on, Django keeps every query's SQL
                if verbose and counts["accounts"] % 10000 == 0:
                    self.stdout.write(f"  {counts['accounts']} accounts…")
        return counts

    def _analyze(self) -> None:
        """PostgreSQL: refresh statistics and the visibility map after a bulk load.

        Autovacuum would do it within minutes; doing it now means the first queries after a
        load already use the plans they will use from then on. SQLite is left as an
        application's database is in real life: the project never runs ANALYZE on it.
        """
        if connection.vendor != "postgresql":
            return
        tables = [
            model._meta.db_table
            for model in (
                Account,
                Contact,
                AccountEvent,
                Account.tags.through,
                Account.shared_with.through,
            )
        ]
        # VACUUM cannot run inside a transaction (a test's, or a caller's atomic block).
        command = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
        with connection.cursor() as cursor:
            for table in tables:
                cursor.execute(f"{command} {connection.ops.quote_name(table)}")
