class ScenarioBuilder: pass
