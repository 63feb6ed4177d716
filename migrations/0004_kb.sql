-- Knowledge bases (categories, Markdown articles, full-text search in each
-- article's language) and rule-based bots.

CREATE TABLE knowledge_bases (
    id         bigserial PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES accounts ON DELETE CASCADE,
    name       text NOT NULL,
    language   text NOT NULL DEFAULT 'en',   -- default language of searches and new articles
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, name)
);

CREATE TABLE kb_categories (
    id          bigserial PRIMARY KEY,
    kb_id       bigint NOT NULL REFERENCES knowledge_bases ON DELETE CASCADE,
    name        text NOT NULL,
    description text NOT NULL DEFAULT '',
    position    integer NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (kb_id, name),
    UNIQUE (id, kb_id)                        -- target of the articles' same-KB key
);

-- search_config is the PostgreSQL text-search configuration of the
-- article's language ('english', 'dutch', ...); search is maintained by the
-- trigger below because to_tsvector(text::regconfig, ...) is not immutable
-- and so cannot be a generated column.
CREATE TABLE kb_articles (
    id            bigserial PRIMARY KEY,
    kb_id         bigint NOT NULL REFERENCES knowledge_bases ON DELETE CASCADE,
    category_id   bigint,
    title         text NOT NULL,
    body          text NOT NULL DEFAULT '',   -- Markdown as written
    body_html     text NOT NULL DEFAULT '',   -- rendered and sanitised
    body_text     text NOT NULL DEFAULT '',   -- plain text: search and snippets
    language      text NOT NULL,
    search_config text NOT NULL CHECK (search_config IN ('english', 'dutch', 'german', 'french', 'spanish',
                      'italian', 'portuguese', 'danish', 'swedish', 'norwegian', 'finnish')),
    published     boolean NOT NULL DEFAULT false,
    version       bigint NOT NULL DEFAULT 1,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    search        tsvector NOT NULL DEFAULT ''::tsvector,   -- title (weight A) and body (B)
    title_search  tsvector NOT NULL DEFAULT ''::tsvector,   -- title alone: small, kept in the row
    -- A category of the same knowledge base; deleting it leaves its articles uncategorised.
    FOREIGN KEY (category_id, kb_id) REFERENCES kb_categories (id, kb_id) ON DELETE SET NULL (category_id)
) WITH (toast_tuple_target = 256);
-- The small target moves the bodies and the full vector out of the row, so
-- a search that matches thousands of articles reads a few hundred narrow
-- heap pages instead of thousands of wide ones; the title vector stays in
-- the row uncompressed, to be tested on every match without decompressing.
-- The full vector is stored uncompressed: a search reads a few hundred of
-- them to rank, and skipping decompression is worth the disk.
ALTER TABLE kb_articles ALTER COLUMN title_search SET STORAGE PLAIN, ALTER COLUMN search SET STORAGE EXTERNAL;
-- fastupdate off: articles change rarely and are searched often, so a
-- write pays for the index at once instead of leaving a pending list every
-- search has to scan until the next vacuum.
CREATE INDEX kb_articles_search ON kb_articles USING gin (search) WITH (fastupdate = off);
CREATE INDEX kb_articles_title_search ON kb_articles USING gin (title_search) WITH (fastupdate = off);
CREATE INDEX kb_articles_kb_page ON kb_articles (kb_id, id DESC);
CREATE INDEX kb_articles_category ON kb_articles (category_id) WHERE category_id IS NOT NULL;

CREATE FUNCTION kb_articles_search() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.search := setweight(to_tsvector(NEW.search_config::regconfig, NEW.title), 'A')
               || setweight(to_tsvector(NEW.search_config::regconfig, NEW.body_text), 'B');
    NEW.title_search := to_tsvector(NEW.search_config::regconfig, NEW.title);
    RETURN NEW;
END $$;
CREATE TRIGGER kb_articles_search BEFORE INSERT OR UPDATE OF title, body_text, search_config ON kb_articles
    FOR EACH ROW EXECUTE FUNCTION kb_articles_search();

-- Passages are an article's sections (a heading and what follows, split
-- when long): the unit the customer agent answers with. Rewritten with the
-- article on every save.
CREATE TABLE kb_passages (
    article_id    bigint NOT NULL REFERENCES kb_articles ON DELETE CASCADE,
    position      integer NOT NULL,
    kb_id         bigint NOT NULL,
    language      text NOT NULL,
    search_config text NOT NULL,
    heading       text NOT NULL DEFAULT '',
    body          text NOT NULL,
    search        tsvector NOT NULL DEFAULT ''::tsvector,
    PRIMARY KEY (article_id, position)
);
CREATE INDEX kb_passages_search ON kb_passages USING gin (search) WITH (fastupdate = off);

CREATE FUNCTION kb_passages_search() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.search := setweight(to_tsvector(NEW.search_config::regconfig, NEW.heading), 'A')
               || setweight(to_tsvector(NEW.search_config::regconfig, NEW.body), 'B');
    RETURN NEW;
END $$;
CREATE TRIGGER kb_passages_search BEFORE INSERT OR UPDATE ON kb_passages
    FOR EACH ROW EXECUTE FUNCTION kb_passages_search();

-- A rule-based bot: its flow (start step and steps) as one JSON document,
-- validated by backend/bot before every write.
CREATE TABLE bots (
    id         bigserial PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES accounts ON DELETE CASCADE,
    name       text NOT NULL,
    flow       jsonb NOT NULL,
    version    bigint NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, name)
);
