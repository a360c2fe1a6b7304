"""Default word lists of the perturbations (English; a suite can give its own `names` / `places` lists).

Short on purpose: a swap only needs a plausible replacement, and a text without any listed word is simply not
perturbed (the test reports it as skipped).
"""
from __future__ import annotations

#: contraction -> expansion (lower case; the perturbation keeps the case of the replaced words)
CONTRACTIONS: dict[str, str] = {
    "isn't": "is not", "aren't": "are not", "wasn't": "was not", "weren't": "were not", "don't": "do not",
    "doesn't": "does not", "didn't": "did not", "can't": "cannot", "couldn't": "could not", "won't": "will not",
    "wouldn't": "would not", "shouldn't": "should not", "haven't": "have not", "hasn't": "has not",
    "hadn't": "had not", "it's": "it is", "that's": "that is", "there's": "there is", "i'm": "i am",
    "you're": "you are", "we're": "we are", "they're": "they are", "i've": "i have", "we've": "we have",
    "they've": "they have", "i'll": "i will", "we'll": "we will", "they'll": "they will", "let's": "let us",
    "what's": "what is", "who's": "who is",
}

FIRST_NAMES: list[str] = [
    "James", "John", "Robert", "Michael", "William", "David", "Richard", "Joseph", "Thomas", "Charles",
    "Daniel", "Matthew", "Anthony", "Mark", "Paul", "Steven", "Andrew", "Kevin", "Brian", "George",
    "Mary", "Patricia", "Jennifer", "Linda", "Elizabeth", "Barbara", "Susan", "Jessica", "Sarah", "Karen",
    "Nancy", "Lisa", "Betty", "Sandra", "Ashley", "Emily", "Michelle", "Laura", "Anna", "Maria",
]

COUNTRIES: list[str] = [
    "United States", "China", "Japan", "Germany", "France", "Britain", "Italy", "Canada", "Brazil", "India",
    "Russia", "Mexico", "Spain", "Australia", "Iran", "Iraq", "Israel", "Egypt", "Turkey", "Pakistan",
]
CITIES: list[str] = [
    "New York", "London", "Paris", "Tokyo", "Berlin", "Moscow", "Beijing", "Chicago", "Los Angeles", "Boston",
    "Toronto", "Sydney", "Madrid", "Rome", "Baghdad", "Washington", "Seattle", "Mumbai", "Cairo", "Dublin",
]
#: countries are swapped for countries and cities for cities (a suite's own `places` list is one pool)
PLACES: list[str] = COUNTRIES + CITIES
