-- The newest comments of one kind and side in a window: where themes look for example comments first
-- (queries/themes.py). Through responses_newest that read walked past every other kind, side and uncommented
-- response (~3,300 index entries per side on a 20,000-response project, ~9 ms); here it reads only its own rows.
CREATE INDEX responses_newest_comments ON feedback.responses (project, kind, side, responded_at DESC, response_id DESC)
    WHERE comment_search IS NOT NULL;
