-- Model approval has one owner: ml/lgbm_model decides it once (the walk-forward out-of-sample Rank IC against the
-- configured minimum, lib/ml/gate.py) and stores it here; the blocking gate, ml/predictions and the drift check
-- read this column. Models saved before carried the decision in metadata.extra.approved: it moves here.
ALTER TABLE ml.models ADD COLUMN approved boolean NOT NULL DEFAULT false;

UPDATE ml.models
SET approved = coalesce((metadata -> 'extra' ->> 'approved')::boolean, false),
    metadata = jsonb_set(metadata, '{extra}', (metadata -> 'extra') - 'approved')
WHERE metadata -> 'extra' ? 'approved';
