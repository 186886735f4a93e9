"""Website and in-app intercept: a site embeds /intercept.js, which asks whether to show a survey.

models (the site: keys, audience, survey, allowed origins), services (the decision, through
the fatigue guard), views (the script, the decide endpoint, the framed survey page, the demo).
"""
