import pytest

from cost_model.plans import load_presets, plan_to_yaml

AGENTCORE = "Kimi K2.6 tokens + AgentCore Runtime"
COPY = f"{AGENTCORE} (my copy)"
PER_SECOND = "plan_form:session_time.per_second"


@pytest.fixture
def plans_page(app):
    at = app.switch_page("pages/plans.py").run()
    assert not at.exception
    return at


def errors(at) -> str:
    return "\n".join(e.value for e in at.error).replace("\\", "")


def edit_copy(at, name=AGENTCORE):
    at.selectbox(key="plans_pick").set_value(name).run()
    return at.button(key="plans_edit_copy").click().run()


def test_page_lists_every_preset_and_asks_to_pick_one(plans_page):
    table = plans_page.dataframe[0].value
    assert list(table["plan"]) == list(load_presets())
    assert set(table["from"]) == {"preset"}
    assert "Edit a copy" in plans_page.info[0].value


def test_editing_a_copy_fills_the_form_with_the_presets_values(plans_page):
    at = edit_copy(plans_page)
    assert at.text_input(key="plan_form:name").value == COPY
    assert at.number_input(key=PER_SECOND).value == 0.000002625
    assert at.toggle(key="plan_form:session_time.on").value is True
    assert at.toggle(key="plan_form:capacity.on").value is False
    assert at.multiselect(key="plan_form:active_time.kinds").value == ["tool", "snapshot"]
    assert not at.error


def test_an_invalid_value_shows_one_error_and_changes_nothing(plans_page):
    at = edit_copy(plans_page)
    at.number_input(key=PER_SECOND).set_value(-1.0).run()
    assert len(at.error) == 1
    assert "the edited plan, session_time.per_second: must be ≥ 0 (got -1.0)." in errors(at)
    assert not at.exception
    assert [b for b in at.button if b.key == "plans_save"] == []
    assert at.session_state["plans"] == {}


def test_replicas_text_is_validated_like_a_file(plans_page):
    at = edit_copy(plans_page)
    at.toggle(key="plan_form:capacity.on").set_value(True).run()
    at.text_input(key="plan_form:capacity.replicas").set_value("many").run()
    assert "capacity.replicas: must be a whole number ≥ 0 or 'auto' (got 'many')." in errors(at)


def test_a_preset_name_is_refused(plans_page):
    at = edit_copy(plans_page)
    at.text_input(key="plan_form:name").set_value(AGENTCORE).run()
    assert f"name: '{AGENTCORE}' is the name of a preset" in errors(at)


def test_a_valid_edit_is_saved_to_the_sessions_plans(plans_page):
    at = edit_copy(plans_page)
    at.number_input(key=PER_SECOND).set_value(0.00001).run()
    at.button(key="plans_save").click().run()
    saved = at.session_state["plans"][COPY]
    assert saved.session_time.per_second == 0.00001
    assert saved.session_time.units == 2
    assert saved.tokens[0].input_per_mtok == 0.95
    assert COPY in list(at.dataframe[0].value["plan"])
    assert "Saved" in at.success[0].value


def test_a_card_from_the_catalogue_is_added_to_the_tokens(plans_page):
    at = edit_copy(plans_page)
    at.text_input(key="plans_cat_q").set_value("kimi-k2.6").run()
    at.selectbox(key="plans_cat_pick").set_value("novita · moonshotai/kimi-k2.6").run()
    at.text_input(key="plans_cat_match").set_value("novita/*").run()
    at.button(key="plans_cat_add").click().run()
    at.button(key="plans_save").click().run()
    cards = at.session_state["plans"][COPY].tokens
    assert len(cards) == 2
    novita = cards[1]
    assert novita.match == "novita/*"
    assert (novita.input_per_mtok, novita.cached_input_per_mtok, novita.output_per_mtok) == (
        0.8,
        0.16,
        3.4,
    )


def test_an_uploaded_plan_is_added(plans_page):
    text = plan_to_yaml(load_presets()[AGENTCORE]).replace(AGENTCORE, "Uploaded plan")
    at = plans_page.file_uploader(key="plans_upload")
    at = at.set_value(("mine.yaml", text.encode(), "application/yaml")).run()
    assert not at.error
    assert at.session_state["plans"]["Uploaded plan"].session_time.units == 2


def test_a_bad_upload_shows_the_problems_and_adds_nothing(plans_page):
    bad = b"name: Broken\nsession_time: {per_second: -3, colour: red}\n"
    at = plans_page.file_uploader(key="plans_upload")
    at = at.set_value(("broken.yaml", bad, "application/yaml")).run()
    assert len(at.error) == 1
    text = errors(at)
    assert "broken.yaml, line 2, session_time.per_second: must be ≥ 0 (got -3)." in text
    assert "broken.yaml, line 2, session_time.colour: 'colour' is not a known key" in text
    assert at.session_state["plans"] == {}
    assert not at.exception


def test_a_catalogue_price_that_does_not_fit_a_card_is_an_error_not_a_traceback(plans_page):
    at = edit_copy(plans_page)
    at.text_input(key="plans_cat_q").set_value("qwen3.7-flash").run()
    at.selectbox(key="plans_cat_pick").set_value("openrouter · qwen/qwen3.7-flash").run()
    at.button(key="plans_cat_add").click().run()
    assert not at.exception
    assert "a rate card has one long-context threshold" in errors(at)
    assert len(at.session_state["plan_form:tokens.rows"]) == 1
