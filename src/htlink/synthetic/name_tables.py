"""Built-in name tables: nicknames, transliterated Arabic names, aliases.

Faker supplies most names (see :mod:`htlink.synthetic.pools`); these tables
add what Faker lacks: the nicknames people are registered under, the several
Latin spellings of Arabic names (Faker's ``ar_*`` locales are in Arabic
script, which no agency in this world writes), and street names used as
aliases.  Keys of :data:`NICKNAMES` are ASCII-folded lower-case given names;
several spellings of one name share a nickname list.
"""

from __future__ import annotations

_NICKNAME_LINES = """
elizabeth: Liz, Beth, Betty, Eliza, Lizzie
william: Bill, Will, Billy, Willie
robert: Bob, Rob, Bobby, Robbie
richard: Rick, Dick, Rich, Richie
james: Jim, Jimmy, Jamie
john: Jack, Johnny
michael: Mike, Mikey, Mick
christopher: Chris, Topher
matthew: Matt, Matty
joseph: Joe, Joey
thomas: Tom, Tommy
charles: Charlie, Chuck
daniel: Dan, Danny
anthony: Tony
david: Dave, Davey
edward: Ed, Eddie, Ted
andrew: Andy, Drew
benjamin: Ben, Benny
jonathan: Jon, Jonny
nicholas: Nick, Nicky
samuel: Sam, Sammy
alexander: Alex, Xander, Sandy
steven: Steve
stephen: Steve
timothy: Tim, Timmy
patrick: Pat, Paddy
gregory: Greg
kenneth: Ken, Kenny
ronald: Ron, Ronnie
donald: Don, Donnie
raymond: Ray
lawrence: Larry
gerald: Jerry
jeffrey: Jeff
zachary: Zach, Zack
joshua: Josh
jacob: Jake
nathaniel: Nate, Nat
margaret: Maggie, Peggy, Meg, Margie
katherine: Kate, Katie, Kathy, Kat
catherine: Cathy, Kate, Cat
kathleen: Kathy, Katie
jennifer: Jen, Jenny
jessica: Jess, Jessie
rebecca: Becky, Becca
deborah: Debbie, Deb
patricia: Pat, Patty, Trish
susan: Sue, Susie
barbara: Barb, Babs
victoria: Vicky, Tori
christina: Chris, Tina, Christy
christine: Chris, Chrissy
samantha: Sam, Sammie
alexandra: Alex, Sasha, Lexi
abigail: Abby
amanda: Mandy
kimberly: Kim
stephanie: Steph
jacqueline: Jackie
nicole: Nikki
cynthia: Cindy
dorothy: Dot, Dottie
theresa: Terry, Tess
madison: Maddie
gabrielle: Gabby, Brie
destiny: Dee
alejandro: Alex, Ale
jose: Pepe, Chepe
francisco: Paco, Pancho, Frank
guadalupe: Lupe, Lupita
jesus: Chuy, Chucho
enrique: Kike, Quique
ignacio: Nacho
roberto: Beto
alberto: Beto
eduardo: Lalo
dolores: Lola
concepcion: Concha, Conchita
rosario: Chayo
manuel: Manolo, Manny
antonio: Tono, Tony
mercedes: Meche
gregorio: Goyo
fernando: Nando
guillermo: Memo, Willy
javier: Javi
maria: Mari, Mary
ana: Anita
isabel: Chabela, Isa
alejandra: Ale, Alex
ekaterina: Katya, Katia, Kate
yekaterina: Katya, Katia, Kate
katerina: Katya
aleksandr: Sasha, Alex
oleksandr: Sasha, Alex
dmitriy: Dima
dmitry: Dima
dmitrii: Dima
mikhail: Misha, Mike
vladimir: Volodya, Vova
volodymyr: Volodya
anastasiya: Nastya
anastasia: Nastya
nataliya: Natasha
natalia: Natasha
natalya: Natasha
yelena: Lena
elena: Lena
olena: Lena
tatyana: Tanya
tatiana: Tanya
mariya: Masha
ivan: Vanya
sergey: Seryozha
sergei: Seryozha
olga: Olya
svetlana: Sveta
nikolay: Kolya
nikolai: Kolya
aleksey: Lyosha, Alex
aleksei: Lyosha, Alex
pavel: Pasha
yevgeniy: Zhenya
evgeniy: Zhenya
evgenii: Zhenya
anna: Anya, Ann
irina: Ira
lyudmila: Luda, Mila
galina: Galya
viktoriya: Vika
viktoria: Vika
yuliya: Yulya, Julia
iuliia: Yulya, Julia
malgorzata: Gosia, Margaret
katarzyna: Kasia, Kate
wojciech: Wojtek
jozef: Jozek, Joe
aleksandra: Ola, Alex
agnieszka: Aga
krzysztof: Krzys, Chris
mohammed: Mo, Moe, Hamoudi
muhammad: Mo, Moe
mohamed: Mo, Moe
mohammad: Mo, Moe
abdullah: Abdul, Abood
abdallah: Abdul
ibrahim: Abe
yousef: Joe
youssef: Joe
yusuf: Joe
mustafa: Moose
fatima: Fatma, Tima
khadija: Dija
"""


def _parse_nicknames(text: str) -> dict[str, tuple[str, ...]]:
    table: dict[str, tuple[str, ...]] = {}
    for line in text.strip().splitlines():
        name, _, rest = line.partition(":")
        table[name.strip()] = tuple(n.strip() for n in rest.split(",") if n.strip())
    return table


#: ASCII-folded lower-case given name -> nicknames agencies register people under.
NICKNAMES: dict[str, tuple[str, ...]] = _parse_nicknames(_NICKNAME_LINES)

# Arabic names in the Latin spellings used in US records, most common first.
# One line per name; the first spelling is the most frequent.
_ARABIC_MALE = """
Mohammed, Muhammad, Mohamed, Mohammad
Ahmed, Ahmad
Mahmoud, Mahmud
Mustafa, Mostafa, Moustafa
Hussein, Husayn, Hussain, Hossein
Hassan, Hasan
Ali
Omar, Umar
Khaled, Khalid
Youssef, Yusuf, Yousef
Ibrahim, Ebrahim
Abdullah, Abdallah, Abdulla
Abdulrahman, Abdelrahman, Abd al-Rahman
Tariq, Tarek, Tareq
Walid, Waleed
Said, Saeed, Sayed
Rashid, Rasheed
Karim, Kareem
Jamal, Gamal
Nasser, Naser, Nasir
Samir, Sameer
Bilal
Hamza, Hamzah
Ziad, Ziyad, Zeyad
Faisal, Faysal
Osama, Usama
Yasser, Yasir, Yaser
Majid, Majed
Adel, Adil
Amir, Ameer
Fadi
Rami, Ramy
Saleh, Salih
Sami, Samy
Hani, Hany
Imad, Emad
"""

_ARABIC_FEMALE = """
Fatima, Fatma, Fatimah
Aisha, Aicha, Ayesha
Maryam, Mariam, Meryem
Noor, Nour, Nur
Layla, Leila, Laila
Zainab, Zeinab, Zaynab
Huda, Hoda
Amira, Ameera
Yasmin, Yasmine, Jasmin
Salma, Selma
Rania, Ranya
Hana, Hanaa
Mona, Muna
Samira, Sameera
Nadia, Nadiya
Rana
Dalia, Dalya
Reem, Rim
Lina, Leena
Asma, Asmaa
Khadija, Khadijah, Khadiga
Aya, Ayah
Sara, Sarah
Heba, Hiba
Shaima, Shaimaa
Iman, Eman
Ghada
Dina, Dena
"""

_ARABIC_SURNAMES = """
Al-Masri, Almasri, El-Masry, Elmasry
Haddad, Hadad
Khoury, Khouri, Khuri
Nasser, Nassar
Abdullah, Abdallah
Hussein, Husain, Hussain
Ibrahim
Mansour, Mansur
Saleh, Salih
Hamdan
Al-Ahmad, Alahmad
Abdelaziz, Abdul Aziz
Darwish, Darwiche
Farah
Jaber, Jabir
Khalil, Khaleel
Mahmoud, Mahmud
Mustafa, Mostafa
Qasim, Kassem, Qassem
Rahman
Shaheen, Shahin
Suleiman, Sulaiman, Soliman
Taha
Yousef, Youssef, Yusuf
Zayed, Zaid
El-Sayed, Elsayed, Al-Sayyid
Abdel-Rahman, Abdulrahman
Hammoud, Hamoud
Othman, Osman, Uthman
Ayoub, Ayyub
Al-Khatib, Alkhatib, El Khatib
Barakat
Awad, Awwad
Obeid, Ubaid
Al-Hashimi, Alhashemi, El-Hashemi
Bakri, Bakry
"""


def _parse_variants(text: str) -> tuple[tuple[str, ...], ...]:
    return tuple(
        tuple(v.strip() for v in line.split(",")) for line in text.strip().splitlines()
    )


#: Arabic given names (male, female) and surnames: each a tuple of Latin spellings.
ARABIC_GIVEN_MALE = _parse_variants(_ARABIC_MALE)
ARABIC_GIVEN_FEMALE = _parse_variants(_ARABIC_FEMALE)
ARABIC_SURNAMES = _parse_variants(_ARABIC_SURNAMES)

#: Street names that appear as aliases in case files (never as a record's legal name).
MONIKERS_FEMALE = (
    "Candy", "Diamond", "Star", "Cherry", "Angel", "Honey", "Destiny", "Precious",
    "Mercedes", "Princess", "Baby", "Sugar", "Peaches", "Jade", "Lexus", "Coco",
)
MONIKERS_MALE = (
    "Smoke", "Ace", "Boo", "Tiny", "Shorty", "Dre", "Red", "Chino", "Flaco",
    "Gordo", "Junior", "Loco", "Spider", "Ghost", "Pac", "Blue",
)
