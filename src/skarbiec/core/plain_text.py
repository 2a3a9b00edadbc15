"""What a text typed by a person may hold before it is stored: no controls and no invisible
characters, in one place for the member's texts (titles, payee names), the member's record
(names, address) and the back-office's (a credit union's name, which starts every SMS).

Controls and the invisible characters that change how the rest is shown (U+202E turns
"...8264" into "4628..." in the SMS that names the payee, R-O2; a terminal escape acts on the
screen of whoever prints the audit log), line separators, private-use and unassigned ones
are never needed in a name, a title or an address.
"""

import unicodedata

_NOT_ALLOWED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})

#: Shown as nothing although not of those categories: Unicode's default-ignorable code points
#: that are marks or letters (the combining grapheme joiner, Hangul fillers, Khmer inherent
#: vowels, Mongolian and other variation selectors), and the braille blank, shown as a space.
#: "J\u034fan" looks like "Jan" in the SMS and the payee book.
_INVISIBLE = frozenset(
    chr(code)
    for first, last in (
        (0x034F, 0x034F),
        (0x115F, 0x1160),
        (0x17B4, 0x17B5),
        (0x180B, 0x180F),
        (0x2800, 0x2800),
        (0x3164, 0x3164),
        (0xFE00, 0xFE0F),
        (0xFFA0, 0xFFA0),
        (0xE0000, 0xE0FFF),
    )
    for code in range(first, last + 1)
)

#: Accents stacked on one letter: two serve every language (Vietnamese "ệ" written
#: decomposed); more only make the letter spill over the lines of the SMS and the pages.
_MOST_MARKS_ON_A_LETTER = 2


def has_hidden_characters(text: str) -> bool:
    stacked = 0
    for c in text:
        category = unicodedata.category(c)
        if category in _NOT_ALLOWED_CATEGORIES or c in _INVISIBLE:
            return True
        stacked = stacked + 1 if category in ("Mn", "Me") else 0
        if stacked > _MOST_MARKS_ON_A_LETTER:
            return True
    return False
