"""Byline parsing: prefixes per language, name splitting, credits, non-authors."""

from __future__ import annotations

import pytest

from crawler.extraction.byline import (
    clean_names,
    dateline_credits,
    is_credit,
    is_organisation,
    is_person_name,
    is_photo_credit,
    is_plausible_author,
    is_prompt,
    named_credits,
    parse_byline,
)


@pytest.mark.parametrize(
    ("text", "persons", "credits"),
    [
        (
            "Von Anna Beispiel und Boris Muster (rtdeutsch)",
            ("Anna Beispiel", "Boris Muster"),
            ("rtdeutsch",),
        ),
        ("By Jane Doe and John Smith", ("Jane Doe", "John Smith"), ()),
        ("Par Marie Dupont et Jean Martin", ("Marie Dupont", "Jean Martin"), ()),
        ("Por Ana García y Luis Pérez", ("Ana García", "Luis Pérez"), ()),
        ("Автор: Иван Петров", ("Иван Петров",), ()),
        ("Von Jana Holm (dpa)", ("Jana Holm",), ("dpa",)),
        (
            "Anna Beispiel, Boris Muster und Carla Test",
            ("Anna Beispiel", "Boris Muster", "Carla Test"),
            (),
        ),
    ],
)
def test_bylines_in_five_languages_split_into_persons_and_credits(
    text: str, persons: tuple[str, ...], credits: tuple[str, ...]
) -> None:
    byline = parse_byline(text)
    assert byline is not None
    assert byline.persons == persons
    assert byline.credits == credits
    assert byline.raw == text


def test_agency_credit_is_kept_in_the_byline_but_is_not_a_person() -> None:
    byline = parse_byline("Von Olga Sternberg (rtdeutsch)")
    assert byline is not None
    assert "rtdeutsch" not in byline.persons
    assert byline.raw.endswith("(rtdeutsch)")


@pytest.mark.parametrize(
    "text",
    [
        "Foto: Max Bildner",
        "Photo: Coastal Trust",
        "Bild: Stadt Kassel",
        "© 2025 Beispiel Medien",
        "Mehr zum Thema – Streik im Hafen",
        "Von Anfang an war klar, dass die Lotsen streiken würden.",
        "Anna Beispiel",
    ],
)
def test_non_bylines_are_not_taken_as_bylines(text: str) -> None:
    assert parse_byline(text) is None


def test_photo_credits_are_recognised() -> None:
    assert is_photo_credit("Foto: dpa")
    assert is_photo_credit("Image: Reuters")
    assert not is_photo_credit("Die Fotografin sprach mit uns.")


def test_trailing_date_after_a_separator_is_not_part_of_the_byline() -> None:
    byline = parse_byline("By Jane Doe and John Smith | March 4, 2025")
    assert byline is not None
    assert byline.raw == "By Jane Doe and John Smith"
    assert byline.persons == ("Jane Doe", "John Smith")


def test_role_after_the_name_is_dropped() -> None:
    byline = parse_byline("By Jane Doe, Staff Writer")
    assert byline is not None
    assert byline.persons == ("Jane Doe",)


def test_element_text_with_a_kicker_before_the_prefix_is_read_leniently() -> None:
    byline = parse_byline("Analyse Von Ernst Lohmann", strict=False)
    assert byline is not None
    assert byline.persons == ("Ernst Lohmann",)


def test_desks_and_agencies_are_not_person_names() -> None:
    assert not is_person_name("Redaktion")
    assert not is_person_name("dpa")
    assert not is_person_name("Staff Writer")
    assert is_person_name("Christoph von Ritter")


def test_user_names_are_plausible_authors_but_slugs_are_not() -> None:
    assert is_plausible_author("tlow")
    assert not is_plausible_author("jane.doe")
    assert not is_plausible_author("https://example.org/author/jane")
    assert not is_plausible_author("07 Dezember")


@pytest.mark.parametrize("initial", ["S.", "S", "Ж.", "K"])
def test_a_single_letter_is_no_plausible_author(initial: str) -> None:
    assert not is_plausible_author(initial)
    assert is_plausible_author("jd")


@pytest.mark.parametrize(
    ("credit", "expected"),
    [
        ("Example Post Staff Report", True),
        ("Staff Reports", True),
        ("Valley Times Staff Writers", True),
        ("Jane Report", False),
        ("Anna Writer", False),
    ],
)
def test_a_desk_credit_may_end_with_report_or_writer(credit: str, expected: bool) -> None:
    assert is_credit(credit) is expected


def test_metadata_author_lists_are_split_and_generic_names_excluded() -> None:
    names = clean_names(["Klaus Wendt, Sabine Ohl", "Ostsee Kurier"], exclude=["Ostsee Kurier"])
    assert names == ("Klaus Wendt", "Sabine Ohl")


def test_korean_name_before_gija_suffix_is_a_person() -> None:
    parsed = parse_byline("김민준 기자 minjun@example.org")
    assert parsed is not None
    assert parsed.persons == ("김민준",)


def test_japanese_name_glued_to_kisha_suffix_is_a_person_and_others_dropped() -> None:
    parsed = parse_byline("山田太郎記者 ほか2名")
    assert parsed is not None
    assert parsed.persons == ("山田太郎",)


def test_caseless_organisation_in_byline_element_is_not_a_person() -> None:
    assert parse_byline("社会部", strict=False) is None


def test_names_joined_by_swedish_turkish_and_hungarian_conjunctions_split() -> None:
    for text, names in (
        ("Av Ingrid Lundqvist och Oskar Berg", ("Ingrid Lundqvist", "Oskar Berg")),
        ("Yazar: Ayşe Yılmaz ve Mehmet Demir", ("Ayşe Yılmaz", "Mehmet Demir")),
        ("Szerző: Kovács Anna és Nagy Péter", ("Kovács Anna", "Nagy Péter")),
    ):
        parsed = parse_byline(text)
        assert parsed is not None
        assert parsed.persons == names


def test_social_label_after_a_name_is_dropped() -> None:
    parsed = parse_byline("Priya Natarajan Twitter", strict=False)
    assert parsed is not None
    assert parsed.persons == ("Priya Natarajan",)


@pytest.mark.parametrize("lenient", [False, True])
def test_link_labels_after_a_name_are_dropped_and_alone_are_no_name(lenient: bool) -> None:
    names = clean_names(
        ["Katrin Vogelsang Alle Artikel", "Paul Amsel Kontakt", "Afficher mon profil complet"],
        lenient=lenient,
    )
    assert names == ("Katrin Vogelsang", "Paul Amsel")


def test_a_weekday_alone_is_no_name_but_a_name_sharing_a_weekdays_word_is() -> None:
    assert clean_names(["Donnerstag", "Четверг", "Plácido Domingo"], lenient=True) == (
        "Plácido Domingo",
    )


def test_the_outlet_followed_by_places_is_its_address_and_names_no_one() -> None:
    outlet = ["Example Herald"]
    assert clean_names(["Example Herald, Halifax, Canada"], exclude=outlet, lenient=True) == ()
    assert clean_names(["Example Herald, Jane Doe"], exclude=outlet, lenient=True) == ("Jane Doe",)


def test_a_slash_between_a_name_and_an_agency_separates_them() -> None:
    found = parse_byline("Von Tobias Lindqvist/dpa")
    assert found is not None
    assert (found.persons, found.credits) == (("Tobias Lindqvist",), ("dpa",))


def test_a_short_capitals_code_in_a_byline_is_a_credit_not_a_person() -> None:
    found = parse_byline("Von Tobias Lindqvist und SP-X")
    assert found is not None
    assert (found.persons, found.credits) == (("Tobias Lindqvist",), ("SP-X",))


@pytest.mark.parametrize(
    ("text", "persons"),
    [
        ("By Dana Whitfield Thursday, July 10, 2025 6:05PM", ("Dana Whitfield",)),
        ("Von Anna Beispiel Donnerstag, 13. März 2025", ("Anna Beispiel",)),
        ("Plácido Domingo, Anna Beispiel", ("Plácido Domingo", "Anna Beispiel")),
    ],
)
def test_a_weekday_opening_a_date_ends_the_name_before_it(
    text: str, persons: tuple[str, ...]
) -> None:
    found = parse_byline(text, strict=False)
    assert found is not None and found.persons == persons


@pytest.mark.parametrize(
    ("opening", "credited"),
    [
        ("Hamburg (dpa/lno) – Der Senat hat beschlossen", ("dpa", "lno")),
        ("WASHINGTON (Reuters) - Negotiators returned", ("Reuters",)),
        ("MADRID, 5 Mar. (EUROPA PRESS) - El Gobierno", ("EUROPA PRESS",)),
        ("МОСКВА, 12 марта (ТАСС) – Поставки зерна", ("ТАСС",)),
        ("(AFP) — Le gouvernement a annoncé", ("AFP",)),
        ("(세종=연합뉴스) 올해 1분기 쌀 수출량이", ("연합뉴스",)),
        ("【ワシントン共同】米政府は", ("共同",)),
        ("新华社北京3月5日电（记者 王伟）", ("新华社",)),
    ],
)
def test_a_wire_dateline_credits_its_agencies(opening: str, credited: tuple[str, ...]) -> None:
    assert dateline_credits(opening) == credited


@pytest.mark.parametrize(
    "opening",
    [
        "Der Mann (42) – so die Polizei",  # an age
        "Hamburg (Mitte) - Im Bezirk",  # a district
        "(dpa) Hamburg ohne Strich",  # no dash after it
        "Berlin (dpa/Der Senat) - x",  # a part that is no agency nor service code
    ],
)
def test_a_parenthesis_that_is_no_wire_dateline_credits_nothing(opening: str) -> None:
    assert dateline_credits(opening) == ()


def test_agencies_and_desks_in_metadata_author_strings_are_credits() -> None:
    found = named_credits(["mkr/dpa", "Jane Roe", "Von Max Muster (AFP)", "Redaktion Sport"])
    assert found == ("dpa", "AFP", "Redaktion Sport")


def test_one_word_after_a_comma_behind_a_full_name_is_a_place_not_a_person() -> None:
    found = parse_byline("Von Max Muster, Berlin")
    assert found is not None
    assert found.persons == ("Max Muster",)
    both = parse_byline("Von Max Muster, Erika Mustermann")
    assert both is not None
    assert both.persons == ("Max Muster", "Erika Mustermann")
    caseless = parse_byline("홍길동, 김철수 기자")
    assert caseless is not None
    assert caseless.persons == ("홍길동", "김철수")


@pytest.mark.parametrize(
    "name",
    ["Hanns-Beispiel-Stiftung e.V.", "Deutscher Beispielverband e. V", "Beispiel Verlag GmbH",
     "Acme Widgets Inc.", "Edizioni Esempio S.r.l", "ООО Ромашка"],
)  # fmt: skip
def test_a_name_with_a_legal_form_is_an_organisation_never_a_person(name: str) -> None:
    assert is_organisation(name)
    assert not is_person_name(name)
    assert not is_plausible_author(name)


def test_a_persons_name_ending_in_letters_of_a_legal_form_is_still_a_person() -> None:
    assert not is_organisation("John V. Berenberg")
    assert not is_organisation("Sag Ag")  # legal forms are matched as printed
    assert is_person_name("John V. Berenberg")


def test_metadata_firms_are_not_credited() -> None:
    assert named_credits(["Beispiel Webagentur GmbH", "dpa"]) == ("dpa",)


@pytest.mark.parametrize(
    "line",
    ["Veröffentlicht am 19.10.25 um 14:34 Uhr", "Опубликовано 21.05.2025 09:40",
     "Publicado el 14.10.2025 a las 16:05", "Zuletzt geändert am: 15.10.2021"],
)  # fmt: skip
def test_a_dates_label_in_a_byline_element_is_no_name(line: str) -> None:
    assert parse_byline(line, strict=False) is None


def test_a_name_before_a_labelled_date_is_kept() -> None:
    found = parse_byline("Jane Doe Published on 12.03.2025", strict=False)
    assert found is not None
    assert found.persons == ("Jane Doe",)


@pytest.mark.parametrize(
    "line",
    [
        "Sign up for the Blitz newsletter",
        "Thanks for signing up!",
        "Pixel Arcade Newsletter",
        "14 Kommentare",
        "Jetzt zum Newsletter anmelden",
        "3 comentarios",
        "NOTAS RELACIONADAS",
        "Inscrivez-vous à notre newsletter",
        "Ten tekst przeczytasz w mniej niż minutę",
        "Home » Politik » Die Fähre fällt aus",
        "%d Bloggern gefällt das:",
    ],
)
def test_prompts_and_widget_lines_are_recognised(line: str) -> None:
    assert is_prompt(line)


@pytest.mark.parametrize(
    "line",
    [
        "The comments were harsh, the minister said.",
        "Retour sur les revues de rang « 1 » ou « 1* » où les chercheurs « placent » "
        "quelques travaux",
        "Er sagte »Nein« und dann »Vielleicht« » später",
        "Users can download the new app from Tuesday.",
        "Werbung ist teuer geworden.",
    ],
)
def test_text_that_only_resembles_a_prompt_is_no_prompt(line: str) -> None:
    assert not is_prompt(line)


@pytest.mark.parametrize(
    ("line", "persons"),
    [
        ("Lucía Ferrer y Ana María Soto Hace 5 horas", ("Lucía Ferrer", "Ana María Soto")),
        ("Jane Doe and John Roe 2 hours ago", ("Jane Doe", "John Roe")),
        ("By Jane Doe and John Roe 6 min read", ("Jane Doe", "John Roe")),
        ("Jana Holm und Mehmet Arslan vor 2 Stunden", ("Jana Holm", "Mehmet Arslan")),
        ("Jana Holm und Mehmet Arslan Lesezeit 3 Min.", ("Jana Holm", "Mehmet Arslan")),
        ("Par Marie Dupont et Paul Martin il y a 3 heures", ("Marie Dupont", "Paul Martin")),
        ("Por João Silva e Maria Costa há 2 horas", ("João Silva", "Maria Costa")),
        ("Di Marco Rossi e Anna Bianchi 4 ore fa", ("Marco Rossi", "Anna Bianchi")),
    ],
)
def test_a_relative_or_reading_time_after_the_names_ends_them(
    line: str, persons: tuple[str, ...]
) -> None:
    found = parse_byline(line, strict=False)
    assert found is not None
    assert found.persons == persons


def test_words_only_resembling_a_relative_time_stay_in_the_names() -> None:
    found = parse_byline("Por Santiago Horas y Ana Hace", strict=False)
    assert found is not None
    assert found.persons == ("Santiago Horas", "Ana Hace")


@pytest.mark.parametrize(
    ("line", "persons"),
    [
        ("Text von Lena Markwart Illustration von Jonas Feil", ("Lena Markwart",)),
        ("Von Jana Holm und Mehmet Arslan Fotos: Kai Brandt", ("Jana Holm", "Mehmet Arslan")),
        ("By Harriet Quill Photos by Owen Marsh", ("Harriet Quill",)),
        ("Par Marie Dupont Photos : Paul Martin", ("Marie Dupont",)),
        ("Texto: Lucía Ferrer Fotos: Diego Salas", ("Lucía Ferrer",)),
        ("Por João Silva Fotos de Maria Costa", ("João Silva",)),
        ("Текст: Анна Воронцова Фото: Пётр Лыков", ("Анна Воронцова",)),
    ],
)
def test_another_contributors_role_after_the_names_ends_them_in_any_line(
    line: str, persons: tuple[str, ...]
) -> None:
    found = parse_byline(line)  # strict: a body paragraph
    assert found is not None
    assert found.persons == persons


def test_a_surname_resembling_a_role_word_stays_in_the_names() -> None:
    found = parse_byline("Von Maria Bild und Jonas Foto")
    assert found is not None
    assert found.persons == ("Maria Bild", "Jonas Foto")


@pytest.mark.parametrize(
    ("line", "persons"),
    [
        ("Autorin: Lena Hartwig, Referentin für Wasserwirtschaft in Cottbus.", ("Lena Hartwig",)),
        ("Author: Daniel Okafor, a research fellow at the estuary programme", ("Daniel Okafor",)),
        ("Auteur : Claire Dubois, chercheuse au centre d'études rurales", ("Claire Dubois",)),
        ("Автор: Ирина Соколова, научный сотрудник лаборатории", ("Ирина Соколова",)),
    ],
)
def test_an_author_label_keeps_the_name_before_the_authors_position(
    line: str, persons: tuple[str, ...]
) -> None:
    found = parse_byline(line)  # strict: a body paragraph
    assert found is not None
    assert found.persons == persons


@pytest.mark.parametrize(
    "line",
    [
        "Von Peter Müller, dem Chef der Firma, hieß es am Montag",  # "Von" is no label
        "Autor: der Bürgermeister, sagte er",  # no full name before the comma
    ],
)
def test_a_sentence_with_a_comma_after_a_prefix_is_no_byline(line: str) -> None:
    assert parse_byline(line) is None


def test_an_author_label_without_its_colon_opens_a_byline_but_not_a_sentence() -> None:
    found = parse_byline("Autoren Friederike Lohmann und Jannis Kröger")
    assert found is not None
    assert found.persons == ("Friederike Lohmann", "Jannis Kröger")
    assert parse_byline("Autor Thomas Mann schrieb den Roman in Kalifornien") is None


@pytest.mark.parametrize("name", ["freeman1984", "apexhunter42", "c1ph4x"])
def test_a_user_name_with_digits_is_a_plausible_author(name: str) -> None:
    assert is_plausible_author(name)


@pytest.mark.parametrize("name", ["user4711", "admin1", "Guest2", "x9", "2021", "MP3"])
def test_an_accounts_default_name_or_a_code_is_no_author(name: str) -> None:
    assert not is_plausible_author(name)
