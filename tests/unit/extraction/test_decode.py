"""Decoding page bytes (the charset decision) and parsing the text into one lxml tree."""

from __future__ import annotations

from crawler.extraction.decode import decode_document, parse_document


def test_declared_charset_is_honoured() -> None:
    data = '<meta charset="windows-1251"><p>Привет</p>'.encode("cp1251")
    assert "Привет" in decode_document(data)


def test_undeclared_bytes_fall_back_from_utf8_to_cp1252() -> None:
    assert decode_document("<p>Fähre</p>".encode("cp1252")) == "<p>Fähre</p>"
    assert decode_document("<p>Fähre</p>".encode()) == "<p>Fähre</p>"


def test_cyrillic_in_a_declared_single_byte_charset_is_not_read_as_utf8() -> None:
    text = "<html><body><p>Паром на остров снова ходит, сообщил перевозчик.</p></body></html>"
    assert "Паром" in decode_document(text.encode("cp1251"), "windows-1251")
    assert "Паром" in decode_document(text.encode("koi8-r"), "koi8-r")


def test_parsed_elements_are_html_elements_without_lxml_html_class_lookup() -> None:
    import lxml.html  # type: ignore[import-untyped]

    html = (
        "<html><head><title>Fähre</title></head><body><article><h1>Fähre</h1>"
        "<p>Die Fähre zwischen Rostock und Gedser fährt wieder.</p>"
        "<form><input name='q'></form></article></body></html>"
    )
    tree, problem = parse_document(html)
    assert problem is None
    kinds = {type(el) for el in tree.iter(lxml.etree.Element)}
    # one C-level class for every element (forms too); text_content() for trafilatura
    assert kinds == {lxml.html.HtmlElement}
    assert "Rostock" in tree.find("body").text_content()
