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

#: Accents stacked on one letter: two serve every language (Vietnamese "ệ" written
#: decomposed); more only make the letter spill over the lines of the SMS and the pages.
_MOST_MARKS_ON_A_LETTER = 2


def has_hidden_characters(text: str) -> bool:
    stacked = 0
    for c in text:
        category = unicodedata.category(c)
        if category in _NOT_ALLOWED_CATEGORIES:
            return True
        stacked = stacked + 1 if category in ("Mn", "Me") else 0
        if stacked > _MOST_MARKS_ON_A_LETTER:
            return True
    return False
