-- The feature map moved to the control plane (common migration 0002), where the feedback service reads it too.
INSERT INTO control.feature_map (project, event, feature, mapped_at)
SELECT m.project, m.event, m.feature, m.mapped_at FROM metrics.feature_map m
JOIN control.projects p ON p.project = m.project
ON CONFLICT DO NOTHING;
DROP TABLE metrics.feature_map;
