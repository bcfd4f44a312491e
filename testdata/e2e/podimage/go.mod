module podtemplate.test/podimage

go 1.22
