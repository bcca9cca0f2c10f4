-- Keys bound to people (API.md v1.1): an agent key may name the agent it acts as. Facts
-- recorded with it carry that agent, and its queues are that agent's own; the audit trail's
-- actor names both the key and the agent. Only agent keys are bound.

ALTER TABLE api_keys ADD COLUMN agent_id text;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_agent_check CHECK (
    agent_id IS NULL OR (role = 'agent' AND length(agent_id) BETWEEN 1 AND 128)
);
