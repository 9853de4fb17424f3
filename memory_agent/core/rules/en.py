"""English: the rule pack extraction and the self-statement filter use by default."""

from __future__ import annotations

import re

from memory_agent.core.rules import LanguageRules

CUE_WORDS = {
    # what is eaten or avoided, not meals or eating in general: "Suggest one dinner for
    # tonight" says nothing about a diet
    "diet": (
        "meat meatless fish chicken beef pork steak bacon ham seafood shrimp vegetarian vegan "
        "veggie plant dairy milk cheese egg eggs gluten lactose allergic allergy halal kosher "
        "tofu"
    ),
    # only words about answers themselves: "long", "read" or "simple" alone say nothing about
    # how the user wants to be answered ("a long day", "I read a lot")
    "style": (
        "answer answers reply replies response responses concise explain explanation "
        "bullet bullets format formatting tone formal"
    ),
}

EMPTY_VALUES = frozenset(
    {"", "none", "n/a", "na", "unknown", "not mentioned", "not specified", "null", "no",
     "nothing", "not stated", "not provided", "-", "the user", "user", "lol", "haha", "ok",
     "yes", "yeah"}
)

INJECTION = re.compile(
    r"ignore (all |any |the )?(previous|prior|above|earlier) (instructions|messages|rules)"
    r"|disregard (all |the )?(previous|prior|above) |system prompt|you are now|"
    r"act as (an? )?(admin|administrator|root|developer)|\badministrator\b|"
    r"\badmin (rights|access|privileges)\b|"
    r"jailbreak|developer mode|reveal (your|the) (instructions|prompt)|"
    # text that tries to open or close a block, or to speak as the system
    r"<\s*/?\s*(memory|system|instructions?)\s*>|\[/?(INST|SYS)\]|<<\s*/?SYS\s*>>|"
    r"(new|updated|override|overriding) (system )?(instructions|rules|prompt)|"
    r"system (instructions|message|override)|^\s*(system|assistant)\s*:|"
    r"(forget|ignore|override|bypass) (your|all|the) (guidelines|rules|instructions|safety)",
    re.IGNORECASE | re.MULTILINE,
)

SECOND_PERSON = re.compile(r"\byou(r|rs|rself)?\b", re.IGNORECASE)

REQUEST = re.compile(r"\b(?:you|your|please|from now on|going forward)\b", re.IGNORECASE)
IMPERATIVE = re.compile(
    r"^\s*(?:(?:and|also|so|oh|ok|okay)\W+)*(?:always|never|don'?t|do not|stop|keep|use|"
    r"answer|reply|respond|write|give|make|remember|call me|talk|speak|avoid)\b",
    re.IGNORECASE)

# a sentence whose subject is someone else: it starts with "my wife", "our son", "she"...
OTHER_PERSON = re.compile(
    r"^\s*(?:(?:and|but|so|also|well|oh|yes|yeah|haha)\W+)*"
    r"(?:(?:my|our)\s+(?:\w+\s+)?(?:wife|husband|partner|boyfriend|girlfriend|fianc[eé]e?|"
    r"son|daughter|kids?|child|children|baby|mom|mum|mother|dad|father|parents?|brother|"
    r"sister|siblings?|grand\w+|aunt|uncle|cousin|niece|nephew|friends?|boss|coworkers?|"
    r"colleagues?|neighbou?rs?|roommates?|team|dog|cat)\b|(?:he|she|they)\b)",
    re.IGNORECASE,
)
FIRST_PERSON = re.compile(r"\b(?:i|i'm|i've|i'd|i'll|me|myself|we)\b", re.IGNORECASE)

NEGATED_LIKE = re.compile(
    r"^(?:i\s+)?(?:dislikes?|hates?|avoids?|(?:do|does)(?:\s+not|n't)\s+(?:like|enjoy|want)|"
    r"not|no)\s+(?P<rest>.+)$", re.IGNORECASE)

LAST_ITEM = re.compile(r"\s+(?:and|&|or)\s+", re.IGNORECASE)
LEADING_CONJUNCTION = re.compile(r"^(?:and|or|&)\s+", re.IGNORECASE)  # "a, and b"

ABBREVIATION = re.compile(r"\b(Dr|Mr|Mrs|Ms|Mx|St|Jr|Sr|Prof|Mt|vs|etc|approx)\.", re.IGNORECASE)
INTERJECTION = re.compile(
    r"^(?:(?:and|but|so|also|well|oh|ah|yes|yeah|yep|no|nope|haha|hah|lol|actually|honestly|"
    r"sure|ok|okay|wow|hmm|right|true|indeed)\b[\s,!.-]*)+", re.IGNORECASE)
# a statement starts with the user as its subject ("I", "my", "we")...
FIRST_PERSON_START = re.compile(r"^(?:i|i'm|i've|im|ive|my|we|we're|we've|our)\b", re.IGNORECASE)
# ...but not with chat about the conversation, a feeling of the moment or a plan to be polite
SMALL_TALK = re.compile(
    r"^(?:i|we)\s+(?:(?:do\s+not|don't|dont|really|totally|also|just|completely)\s+)?"
    r"(?:think|thought|guess|hope|bet|wonder|know|knew|mean|agree|see|understand|hear|heard|"
    r"believe|imagine|suppose|feel\s+(?:like|the\s+same|that)|can't\s+wait|cannot\s+wait|"
    r"will|'ll|would(?!\s+(?:like|love)\s+to)|could|should|might|must|gotta|have\s+to|"
    r"need\s+to\s+go)\b|"
    r"^(?:i'll|i'd|we'll|we'd)\b(?!\s+(?:like|love)\s+to)|"
    r"^(?:i\s+am|i'm|im|we\s+are|we're)\s+(?:so\s+|very\s+|really\s+)?"
    r"(?:sure|sorry|glad|happy\s+to|good|fine|great|ok|okay|well|doing|not\s+sure|excited\s+for\s+you|"
    r"afraid|guessing|thinking|wondering|going\s+to|gonna)\b",
    re.IGNORECASE)

_TIME_WORDS = (
    "time times once twice thrice every each per a an the at on in by from to until around "
    "about or and daily nightly weekly monthly yearly day days week weeks weekend weekends "
    "month months year years hour hours minute minutes morning mornings afternoon afternoons "
    "evening evenings night nights noon midnight am pm a.m p.m o'clock early late usually "
    "often always sometimes regularly monday mondays tuesday tuesdays wednesday wednesdays "
    "thursday thursdays friday fridays saturday saturdays sunday sundays one two three four "
    "five six seven eight nine ten eleven twelve couple few several other")
TIME_WORDS = frozenset(_TIME_WORDS.split())
# the words of the numbers 0..20, in order: "three times" says 3
_NUMBERS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen "
            "fourteen fifteen sixteen seventeen eighteen nineteen twenty")
NUMBER_WORDS = tuple(_NUMBERS.split())
# a request meant to hold beyond this answer ("always", "from now on")...
LASTING_REQUEST = re.compile(
    r"\b(?:always|never|from\s+now\s+on|going\s+forward|in\s+(?:the\s+)?future|"
    r"every\s+time|each\s+time|whenever)\b", re.IGNORECASE)
# ...its polite or lasting opening, dropped from the instruction ("Please always ")...
REQUEST_LEAD = re.compile(
    r"^(?:(?:please|pls|and|also|so|ok|okay|oh|one\s+more\s+thing|from\s+now\s+on|"
    r"going\s+forward|in\s+(?:the\s+)?future|always|could\s+you|can\s+you|would\s+you)"
    r"\b[\s,:-]*)+", re.IGNORECASE)
REQUEST_TAIL = re.compile(r"[\s,]*\b(?:please|thanks|thank\s+you)\W*$", re.IGNORECASE)
# ...and a clause that starts with a subject is about someone, not a request to the
# assistant ("You always make me laugh", "I always run on Sundays")
SUBJECT_START = re.compile(
    r"^(?:i|i'm|i've|im|you|you're|we|he|she|they|it|it's|my|your|our|his|her|their|this|"
    r"that|there|people|everyone)\b", re.IGNORECASE)
ONE_OFF = re.compile(
    r"\b(?:tonight|today|tomorrow|this\s+(?:morning|afternoon|evening|weekend)|right\s+now|"
    r"later\s+today)\b", re.IGNORECASE)
CLAUSE_BREAK = re.compile(r"\s*[,;:]\s+|\s+(?:but|because|so|while|and then)\s+",
                          re.IGNORECASE)

RULES = LanguageRules(
    code="en",
    cue_words=CUE_WORDS,
    empty_values=EMPTY_VALUES,
    injection=INJECTION,
    second_person=SECOND_PERSON,
    request=REQUEST,
    imperative=IMPERATIVE,
    other_person=OTHER_PERSON,
    first_person=FIRST_PERSON,
    negated_like=NEGATED_LIKE,
    last_item=LAST_ITEM,
    leading_conjunction=LEADING_CONJUNCTION,
    abbreviation=ABBREVIATION,
    interjection=INTERJECTION,
    first_person_start=FIRST_PERSON_START,
    small_talk=SMALL_TALK,
    time_words=TIME_WORDS,
    one_off=ONE_OFF,
    clause_break=CLAUSE_BREAK,
    lasting_request=LASTING_REQUEST,
    request_lead=REQUEST_LEAD,
    request_tail=REQUEST_TAIL,
    subject_start=SUBJECT_START,
    number_words=NUMBER_WORDS,
)
