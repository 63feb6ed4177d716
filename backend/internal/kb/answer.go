package kb

import (
	"context"
	"math"
	"strings"

	"github.com/parleychat/parley/backend/internal/store"
)

// MinAnswerScore is the least score BestPassage answers with; below it the
// customer agent says it has no answer. 0.5 means the passage holds at
// least half of the question's weight of words (rare words weigh more).
const MinAnswerScore = 0.5

// answerCandidates is how many ranked passages BestPassage weighs.
const answerCandidates = 50

// ArticleRef names the article an answer comes from, for the link under it.
type ArticleRef struct {
	KBID  int64
	ID    int64
	Title string
}

// BestPassage finds the passage of knowledge base kbID (published articles
// in language lang) that best answers question. score is in [0, 1]: the
// share of the question's words the passage holds, each word weighted by
// its rarity in the knowledge base (inverse document frequency), so a
// passage that shares only common words, or misses the one word that
// matters, scores low. ok is false when nothing reaches MinAnswerScore
// (the best attempt is still returned, for logs); the caller then says
// plainly it has no answer. err is a storage failure, not "no answer".
func BestPassage(ctx context.Context, st *store.Store, kbID int64, lang, question string) (article ArticleRef, passage string, score float64, ok bool, err error) {
	cfg, known := SearchConfig(lang)
	question = strings.TrimSpace(truncate(question, 4*MaxQueryChars))
	if !known || question == "" {
		return ArticleRef{}, "", 0, false, nil
	}
	lexemes, err := st.QueryLexemes(ctx, cfg, question)
	if err != nil || len(lexemes) == 0 {
		return ArticleRef{}, "", 0, false, err
	}
	hits, total, df, err := st.KBPassageCandidates(ctx, kbID, lang, lexemes, answerCandidates)
	if err != nil || len(hits) == 0 {
		return ArticleRef{}, "", 0, false, err
	}
	// A word the knowledge base never uses weighs like its rarest one, not
	// more: it is as often filler ("how long does it take") as the point.
	idf := func(l string) float64 {
		n := float64(max(df[l], 1))
		return math.Log(1 + (float64(total)-n+0.5)/(n+0.5))
	}
	var whole float64
	for _, l := range lexemes {
		whole += idf(l)
	}
	best := -1
	for i, h := range hits {
		var got float64
		for _, l := range h.Lexemes {
			got += idf(l)
		}
		s := got / whole
		// Candidates come best-ranked first: a later one must do strictly better.
		if s > score+1e-9 {
			best, score = i, s
		}
	}
	if best < 0 {
		return ArticleRef{}, "", 0, false, nil
	}
	h := hits[best]
	article = ArticleRef{KBID: kbID, ID: h.ArticleID, Title: h.Title}
	return article, h.Body, score, score >= MinAnswerScore, nil
}
